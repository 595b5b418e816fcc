"""Approximate centres (latitude, longitude) of the countries logins come from, for the
impossible-travel rule. Country level only: a centre can be 1,000 km from a city, so the rule
allows airliner speed between centres and says nothing about countries missing here."""

from __future__ import annotations

import math

CENTRES: dict[str, tuple[float, float]] = {
    "AE": (24.0, 54.0), "AR": (-34.0, -64.0), "AT": (47.5, 14.5), "AU": (-25.0, 134.0),
    "BD": (24.0, 90.0), "BE": (50.8, 4.5), "BR": (-10.0, -52.0), "CA": (56.0, -106.0),
    "CH": (46.8, 8.2), "CL": (-33.0, -71.0), "CN": (35.0, 105.0), "CZ": (49.8, 15.5),
    "DE": (51.0, 10.0), "DK": (56.0, 10.0), "EG": (27.0, 30.0), "ES": (40.0, -4.0),
    "FI": (64.0, 26.0), "FR": (46.0, 2.0), "GB": (54.0, -2.0), "GR": (39.0, 22.0),
    "HK": (22.3, 114.2), "ID": (-2.5, 118.0), "IE": (53.0, -8.0), "IL": (31.5, 34.8),
    "IN": (21.0, 78.0), "IT": (42.8, 12.8), "JP": (36.0, 138.0), "KH": (12.5, 105.0),
    "KR": (36.5, 127.8), "MM": (21.0, 96.0), "MN": (46.0, 105.0), "MO": (22.2, 113.5),
    "MX": (23.0, -102.0), "MY": (3.0, 102.0), "NL": (52.2, 5.3), "NO": (61.0, 9.0),
    "NZ": (-41.0, 174.0), "PH": (13.0, 122.0), "PK": (30.0, 70.0), "PL": (52.0, 19.0),
    "PT": (39.5, -8.0), "RU": (60.0, 90.0), "SA": (24.0, 45.0), "SE": (62.0, 15.0),
    "SG": (1.35, 103.8), "TH": (15.0, 100.0), "TR": (39.0, 35.0), "TW": (23.7, 121.0),
    "UA": (49.0, 32.0), "US": (39.0, -98.0), "VN": (16.0, 107.8), "ZA": (-29.0, 24.0),
}  # fmt: skip

EARTH_RADIUS_KM = 6371.0


def distance_km(first: str, second: str) -> float | None:
    """Great-circle distance between two countries' centres; None if either is not listed."""
    a, b = CENTRES.get(first), CENTRES.get(second)
    if a is None or b is None:
        return None
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2
    h += math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))
