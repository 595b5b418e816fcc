"""Login rules on the device: automation clients, missing or new device ids, unknown agents."""

from __future__ import annotations

from collections.abc import Iterator

from kabuguard.risk.codes import ReasonCode
from kabuguard.risk.decisions import Hit
from kabuguard.risk.events import Event
from kabuguard.risk.history import Level, Profile
from kabuguard.risk.login import UNKNOWN_VALUE, LoginSignals
from kabuguard.risk.policy import Policy
from kabuguard.risk.rules import hit, login_rule, password_step


@login_rule
def automation(event: Event, facts: LoginSignals, policy: Policy) -> Iterator[Hit]:
    """Headless browsers and HTTP libraries: no customer signs in with those."""
    software = facts.software
    if password_step(event) and software.automation:
        yield hit(ReasonCode.LOGIN_DEVICE_AUTOMATION, policy, browser=software.browser)


@login_rule
def unknown_software(event: Event, facts: LoginSignals, policy: Policy) -> Iterator[Hit]:
    software = facts.software
    if password_step(event) and software.unknown is not None:
        yield hit(ReasonCode.LOGIN_SOFTWARE_UNKNOWN, policy, reason=software.unknown.value)


@login_rule
def device(event: Event, facts: LoginSignals, policy: Policy) -> Iterator[Hit]:
    """A login without a device id, or from one the customer has not used before."""
    login = password_step(event)
    if login is None or login.customer_id is None:
        return
    profile = facts.profile
    if login.device_id is None:
        # A customer whose logins always carried a device id, arriving without one, is as new
        # as a fresh id: otherwise dropping the cookie would score below presenting one.
        new = profile is not None and _always_carried_device_ids(profile)
        if not new:
            yield hit(ReasonCode.LOGIN_DEVICE_MISSING, policy)
    else:
        new = profile is not None and _new_device(profile, login.device_id)
    if not new or profile is None:
        return
    yield hit(ReasonCode.LOGIN_DEVICE_NEW, policy)
    # A fresh cookie behind the customer's exact browser string is what a targeted attacker
    # (or an anti-detect browser) looks like; identical strings on two real machines are
    # common too, hence a modest score.
    agent = facts.software.user_agent
    if agent is not None and profile.has(Level.USER_AGENT, agent):
        yield hit(ReasonCode.LOGIN_DEVICE_KNOWN_AGENT, policy, browser=facts.software.browser)


def _new_device(profile: Profile, device_id: str) -> bool:
    """A device the customer's history does not hold; with no learned login yet (only a
    waiting sell-only one, or a passkey enrolled) there is no history to be new to."""
    return profile.learned and not profile.has(Level.DEVICE_ID, device_id)


def _always_carried_device_ids(profile: Profile) -> bool:
    """Remembered logins, every one with a device id (a customer who also signs in without one
    keeps `login:device:missing`)."""
    seen = profile.values(Level.DEVICE_ID)
    return profile.learned and bool(seen) and UNKNOWN_VALUE not in seen
