"""Login rules on the source network: unknown, hosting, VPN, abroad, impossible travel."""

from __future__ import annotations

from collections.abc import Iterator

from kabuguard.risk.codes import ReasonCode
from kabuguard.risk.countries import distance_km
from kabuguard.risk.decisions import Hit
from kabuguard.risk.events import Event, LoginAttempt
from kabuguard.risk.history import Level, Profile
from kabuguard.risk.login import AsnClass, LoginSignals, Unknown
from kabuguard.risk.policy import Policy
from kabuguard.risk.rules import hit, login_rule, password_step

HOME_CLASSES = frozenset({AsnClass.RESIDENTIAL.value, AsnClass.MOBILE.value})
# Mobile carriers route roaming phones home and VPNs exit anywhere: their countries say
# nothing about where the person is, so travel between them is never "impossible".
TRAVEL_BLIND = frozenset({AsnClass.MOBILE, AsnClass.VPN, AsnClass.HOSTING, AsnClass.UNKNOWN})


@login_rule
def unknown_network(event: Event, facts: LoginSignals, policy: Policy) -> Iterator[Hit]:
    """An address that cannot be placed is scored as unknown with its reason (unparseable
    addresses already have `network:ip:unparseable`)."""
    network = facts.network
    if password_step(event) and network.unknown not in {None, Unknown.UNPARSEABLE}:
        assert network.unknown is not None
        yield hit(ReasonCode.LOGIN_NETWORK_UNKNOWN, policy, reason=network.unknown.value)


@login_rule
def anonymising_network(event: Event, facts: LoginSignals, policy: Policy) -> Iterator[Hit]:
    """Hosting or VPN exits that the customer does not use (domain §4.3)."""
    login = password_step(event)
    network, profile = facts.network, facts.profile
    if login is None or login.customer_id is None or not network.anonymising:
        return
    used = profile.values(Level.ASN_CLASS) if profile is not None else frozenset()
    if network.asn_class.value in used:
        return
    if network.asn_class is AsnClass.VPN:
        yield hit(ReasonCode.LOGIN_NETWORK_VPN, policy, asn=network.asn)
    elif used and used <= HOME_CLASSES:
        yield hit(ReasonCode.LOGIN_RELAY_HOSTING, policy, asn=network.asn)
    else:
        yield hit(ReasonCode.LOGIN_NETWORK_HOSTING, policy, asn=network.asn)


@login_rule
def foreign_network(event: Event, facts: LoginSignals, policy: Policy) -> Iterator[Hit]:
    """A country other than home that the customer has not logged in from.

    Tolerant of what is not evidence: a VPN or cloud exit's country says nothing about where
    the person is (the anonymising rule judges those), and a traveller signs in from their
    own known device, which a remote attacker does not have.
    """
    login = password_step(event)
    network, profile = facts.network, facts.profile
    country = network.country
    if login is None or login.customer_id is None or country is None or network.anonymising:
        return
    if country == policy.login.home_country:
        return
    known = profile is not None and (
        profile.has(Level.COUNTRY, country) or _own_device(profile, login)
    )
    if not known:
        yield hit(ReasonCode.LOGIN_NETWORK_FOREIGN, policy, country=country)


@login_rule
def impossible_travel(event: Event, facts: LoginSignals, policy: Policy) -> Iterator[Hit]:
    """Country-level travel faster than an airliner since the last successful login."""
    login = password_step(event)
    network, profile = facts.network, facts.profile
    if login is None or profile is None or network.country is None:
        return
    previous = _last_place(profile)
    if previous is None or network.asn_class in TRAVEL_BLIND:
        return
    country, asn_class = previous
    if country == network.country or asn_class in TRAVEL_BLIND:
        return
    km = distance_km(country, network.country)
    hours = max(login.occurred_at.timestamp() - profile.latest_at, 1.0) / 3600
    if km is not None and km / hours > policy.login.travel_kmh:
        yield hit(
            ReasonCode.LOGIN_TRAVEL_IMPOSSIBLE,
            policy,
            previous=country,
            country=network.country,
            hours=f"{hours:.1f}",
        )


def _last_place(profile: Profile) -> tuple[str, AsnClass] | None:
    """Country and network class of the last successful login, if still remembered."""
    country = profile.latest(Level.COUNTRY)
    asn_class = profile.latest(Level.ASN_CLASS)
    if country is None or asn_class is None:
        return None
    return country, AsnClass(asn_class)


def _own_device(profile: Profile, login: LoginAttempt) -> bool:
    return login.device_id is not None and profile.has(Level.DEVICE_ID, login.device_id)
