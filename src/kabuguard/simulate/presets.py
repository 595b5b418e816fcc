"""Presets: campaign intensities scaled from the FSA's monthly figures (domain brief §1.3).

Scaling. The FSA counts unauthorised accesses nationally, over the accounts of every online
broker. A simulated population of `customers` sees

    hijacks per campaign = FSA accesses in the month x campaign share
                           x customers / BASE_ACCOUNTS x amplification x days / 30

Amplification is needed: at the true rate (April 2025: 5,441 in ~40 M accounts) a 20,000
customer run would contain about three hijacks, too few to measure a stopped rate. The factor
is stated here, in the manifest and in docs/simulation.md; rates are per hijack, so it does
not bias them, only narrows their confidence intervals.

Shares split accesses between campaigns: the FSA's unauthorised-trades / accesses ratio gives
the share that traded (pump, relay, naive/VPN/targeted takeovers); the rest split between
stuffing successes and dormant-account e-mail rewrites. The splits and the factor mixes (how
many customers have which second factor, moving towards passkeys through 2025) are
assumptions for the reader to vary, not published figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType

from kabuguard.labels import Campaign

BASE_ACCOUNTS = 40_000_000  # online brokerage accounts in Japan, order of magnitude (assumed)
AMPLIFICATION = 200.0
BACKGROUND_STUFFING_PER_20K = 2_000  # failed stuffing tries a month that never hit anyone

C = Campaign
_EARLY = {C.RELAY: 0.25, C.PUMP: 0.15, C.ATO_NAIVE: 0.20, C.ATO_VPN: 0.25, C.ATO_TARGETED: 0.15}
_WAVE = {C.RELAY: 0.40, C.PUMP: 0.35, C.ATO_NAIVE: 0.05, C.ATO_VPN: 0.12, C.ATO_TARGETED: 0.08}
_LATE = {C.RELAY: 0.45, C.PUMP: 0.20, C.ATO_NAIVE: 0.05, C.ATO_VPN: 0.15, C.ATO_TARGETED: 0.15}
_NON_TRADING = {C.STUFFING: 0.6, C.DORMANT_EMAIL: 0.4}
# (none, sms_otp, email_otp, totp, passkey): second factors enrolled.
_FACTORS_EARLY = (0.60, 0.20, 0.12, 0.05, 0.03)
_FACTORS_SPRING = (0.45, 0.28, 0.14, 0.07, 0.06)
_FACTORS_SUMMER = (0.20, 0.40, 0.15, 0.10, 0.15)
_FACTORS_AUTUMN = (0.10, 0.40, 0.15, 0.10, 0.25)
_FACTORS_2020 = (0.95, 0.02, 0.03, 0.0, 0.0)


@dataclass(frozen=True, slots=True)
class Preset:
    name: str
    start: date
    accesses: int  # FSA: unauthorised accesses in the month (national)
    trades: int  # FSA: unauthorised trades in the month
    trading_mix: Mapping[Campaign, float]
    other_mix: Mapping[Campaign, float]
    factor_mix: tuple[float, ...]
    note: str
    base_accounts: int = BASE_ACCOUNTS
    amplification: float = AMPLIFICATION

    def expected_hijacks(self, customers: int, days: int) -> dict[Campaign, float]:
        """Mean number of hijacks per campaign for a run of this size and length."""
        scale = customers / self.base_accounts * self.amplification * days / 30
        trading_share = self.trades / self.accesses if self.accesses else 0.0
        expected = dict.fromkeys(Campaign, 0.0)
        for mix, share in ((self.trading_mix, trading_share), (self.other_mix, 1 - trading_share)):
            for campaign, part in mix.items():
                expected[campaign] += self.accesses * share * part * scale
        return expected


def _month(
    name: str,
    fsa: tuple[int, int],
    mix: Mapping[Campaign, float],
    factors: tuple[float, ...],
    note: str,
) -> Preset:
    """A 2025 month: `fsa` is (unauthorised accesses, unauthorised trades) from §1.3."""
    year, month = (int(part) for part in name.split("-"))
    return Preset(name, date(year, month, 1), *fsa, mix, _NON_TRADING, factors, note)


PRESETS: Mapping[str, Preset] = MappingProxyType(
    {
        preset.name: preset
        for preset in (
            _month("2025-01", (170, 95), _EARLY, _FACTORS_EARLY, "before the wave: stolen lists"),
            _month("2025-02", (114, 51), _EARLY, _FACTORS_EARLY, "before the wave"),
            _month("2025-03", (2_319, 951), _WAVE, _FACTORS_EARLY, "the wave starts: relays"),
            _month("2025-04", (5_441, 2_987), _WAVE, _FACTORS_SPRING, "the peak: relays, pumps"),
            _month("2025-05", (4_000, 2_329), _WAVE, _FACTORS_SPRING, "still high; MFA spreading"),
            _month("2025-08", (1_248, 562), _LATE, _FACTORS_SUMMER, "after MFA at login"),
            _month("2025-10", (736, 354), _LATE, _FACTORS_AUTUMN, "passkeys spreading"),
            _month("2025-11", (308, 138), _LATE, _FACTORS_AUTUMN, "tail of the wave"),
            Preset(
                "quiet",
                date(2025, 6, 2),
                accesses=0,
                trades=0,
                trading_mix={},
                other_mix={},
                factor_mix=_FACTORS_AUTUMN,
                note="no hijacks; only background stuffing that never succeeds",
            ),
            # SBI Securities, 2020: 6 accounts, payout changed to same-name accounts opened with
            # forged ID, ¥98.64 M withdrawn. One broker of ~5.5 M accounts (assumed), and a
            # larger factor, so that the handful of cases becomes measurable.
            Preset(
                "2020-payout",
                date(2020, 9, 1),
                accesses=6,
                trades=0,
                trading_mix={},
                other_mix={C.PAYOUT: 1.0},
                factor_mix=_FACTORS_2020,
                note="2020: payout-account switch to same-name mule accounts",
                base_accounts=5_500_000,
                amplification=2_000.0,
            ),
        )
    }
)
