"""Real IPv4 prefixes of the catalogued networks, from geoip2fast's shipped GeoLite2 data.

The data file is a pickled set of sorted range lists (first address, prefix length, id) for
countries and for AS names. Once per process the ranges of the catalogued AS names are kept
when they lie wholly inside one country range of the catalogued country, so every sampled
address looks up to the entry's AS name and country with geoip2fast itself. The result is a
few thousand ranges in flat numpy arrays; sampling is vectorised.
"""

from __future__ import annotations

import gzip
import pickle  # the format geoip2fast ships its data in; the file comes from the package
from functools import cache
from pathlib import Path
from random import Random
from typing import Any

import geoip2fast
import numpy as np
import numpy.typing as npt

from kabuguard.simulate.networks import CATALOGUE

DATA_FILE = Path(geoip2fast.__file__).with_name("geoip2fast-asn.dat.gz")
_SUPPORTED_VERSIONS = {120}

U32 = npt.NDArray[np.uint32]
I64 = npt.NDArray[np.int64]


class IpPools:
    """Addresses sampled uniformly over each catalogued network's real prefixes."""

    def __init__(self, starts: I64, sizes: I64, first_range: I64) -> None:
        self._starts = starts
        self._ends = np.cumsum(sizes)  # cumulative address count at the end of each range
        self._offsets = self._ends - sizes
        # Network n owns ranges first_range[n] .. first_range[n+1]-1.
        self._base = np.concatenate([self._offsets, self._ends[-1:]])[first_range]
        self.sizes = self._base[1:] - self._base[:-1]
        if np.any(self.sizes <= 0):
            empty = [CATALOGUE[i].key for i in np.flatnonzero(self.sizes <= 0)]
            raise RuntimeError(f"no prefixes found in the geoip2fast data for {empty}")

    def sample(
        self, networks: npt.NDArray[np.integer[Any]], uniform: npt.NDArray[np.float64]
    ) -> U32:
        """One address per (network, uniform draw in [0, 1)), avoiding .0 and .255."""
        target = self._base[networks] + (uniform * self.sizes[networks]).astype(np.int64)
        position = np.searchsorted(self._ends, target, side="right")
        address = self._starts[position] + (target - self._offsets[position])
        low = address & 0xFF
        address = address + (low == 0) - (low == 0xFF)
        sampled: U32 = address.astype(np.uint32)
        return sampled

    def one(self, network: int, rng: Random) -> str:
        sampled = self.sample(np.array([network]), np.array([rng.random()]))
        return dotted(int(sampled[0]))


def dotted(address: int) -> str:
    return f"{address >> 24}.{(address >> 16) & 255}.{(address >> 8) & 255}.{address & 255}"


def dotted_many(addresses: npt.NDArray[np.uint32]) -> list[str]:
    wide = addresses.astype(np.int64)
    parts = (wide >> 24, wide >> 16 & 255, wide >> 8 & 255, wide & 255)
    return [f"{a}.{b}.{c}.{d}" for a, b, c, d in zip(*(p.tolist() for p in parts), strict=True)]


def _flat(chunks: list[list[int]]) -> I64:
    return np.concatenate([np.asarray(chunk, dtype=np.int64) for chunk in chunks])


@cache
def pools() -> IpPools:
    """Load the prefixes once per process (about half a second)."""
    with gzip.open(DATA_FILE, "rb") as source:
        version, _info, _total, database = pickle.load(source)  # noqa: S301 - packaged data
    if version not in _SUPPORTED_VERSIONS:
        raise RuntimeError(f"unsupported geoip2fast data version {version}")
    (_, _, country_names, as_names, country_first, as_first, country_ids, as_ids) = database[:8]
    country_bits, as_bits = database[8], database[9]
    country_code = [name.split(":")[0] for name in country_names]
    position_of_name = {name: i for i, name in enumerate(as_names)}
    wanted = [position_of_name.get(network.as_name, -1) for network in CATALOGUE]
    # Only the catalogued names' ranges (a few thousand of half a million) go further.
    name_ids = _flat(as_ids)
    chosen = np.isin(name_ids, wanted)
    name_ids = name_ids[chosen]
    as_start = _flat(as_first)[chosen]
    as_end = as_start + (1 << (32 - _flat(as_bits)[chosen])) - 1
    country_start = _flat(country_first)
    country_end = country_start + (1 << (32 - _flat(country_bits))) - 1
    # The enclosing country range must hold the whole range (this file holds IPv4 only).
    inside = np.searchsorted(country_start, as_start, side="right") - 1
    whole = (inside >= 0) & (as_end <= country_end[np.maximum(inside, 0)])
    country_of = _flat(country_ids)[inside]
    starts: list[I64] = []
    sizes: list[I64] = []
    first_range = [0]
    for network, name_id in zip(CATALOGUE, wanted, strict=True):
        country = country_code.index(network.country)
        keep = whole & (name_ids == name_id) & (country_of == country)
        starts.append(as_start[keep])
        sizes.append(as_end[keep] - as_start[keep] + 1)
        first_range.append(first_range[-1] + int(keep.sum()))
    return IpPools(np.concatenate(starts), np.concatenate(sizes), np.array(first_range))
