"""The defences kabuguard is measured against, computed from the events alone.

A baseline sees each event once, in file order, and never its label: it answers with a ruling,
then hears whether the event happened (an event of a hijack it already stopped did not).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from kabuguard.risk.events import AttemptResult, Event, LoginAttempt
from kabuguard.scoreboard.features import LoginFeatures
from kabuguard.scoreboard.freeman import FreemanModel, Login
from kabuguard.scoreboard.outcomes import ALLOW, ASK_ANY_MFA, Ruling, is_login

# A network entirely new to the user (IP, ASN and country) scores 4 on its own for a user of
# average login frequency. On a synthetic population of Japanese customers about 1 % of ordinary
# logins exceed it, near the published 0.77 % operating point (docs/scoreboard.md#freeman).
DEFAULT_FREEMAN_THRESHOLD = 4.0


class Defence(StrEnum):
    KABUGUARD = "kabuguard"
    NO_DEFENCE = "no_defence"
    SMS_OTP_ONLY = "sms_otp_only"
    FREEMAN = "freeman"


BASELINES = (Defence.NO_DEFENCE, Defence.SMS_OTP_ONLY, Defence.FREEMAN)


class Baseline(Protocol):
    def rule(self, event: Event) -> Ruling: ...

    def happened(self, event: Event) -> None:
        """Told after `rule` when the event went through (it was not cut off by a stop)."""


class NoDefence:
    """Nothing is ever stopped or challenged."""

    def rule(self, event: Event) -> Ruling:
        return ALLOW

    def happened(self, event: Event) -> None:
        return None


class SmsOtpOnly:
    """Password plus an SMS code at every login (early-2025 status quo); nothing else checked.

    A relay passes the code on, so only an attacker without otp_relay is stopped, at the first
    login; every legitimate login is challenged by construction.
    """

    def rule(self, event: Event) -> Ruling:
        return ASK_ANY_MFA if is_login(event) else ALLOW

    def happened(self, event: Event) -> None:
        return None


class FreemanBaseline:
    """Freeman's model at each password or passkey step: a code (any_mfa) above the threshold."""

    def __init__(self, threshold: float = DEFAULT_FREEMAN_THRESHOLD) -> None:
        self.threshold = threshold
        self.model = FreemanModel()
        self._features = LoginFeatures()
        self._pending: Login | None = None

    def rule(self, event: Event) -> Ruling:
        self._pending = None
        if not (isinstance(event, LoginAttempt) and is_login(event)):
            return ALLOW
        login = self._features.login(event)
        if login is None:
            return ALLOW
        if event.result is AttemptResult.SUCCESS:
            self._pending = login
        risk = self.model.score(login)
        return ASK_ANY_MFA if risk is not None and risk > self.threshold else ALLOW

    def happened(self, event: Event) -> None:
        # Only successful logins that went through build history: a login this baseline
        # stopped never completed, and a customer who passed the code did log in.
        if self._pending is not None:
            self.model.learn(self._pending)
        self._pending = None
