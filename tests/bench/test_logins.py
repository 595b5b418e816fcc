"""The bench hook times login decisions and says how many it timed (no timing asserted)."""

from __future__ import annotations

from kabuguard.bench.logins import measure_login_decisions


def test_measure_login_decisions_reports_quantiles() -> None:
    result = measure_login_decisions(customers=100, days=2, seed=3)
    assert result["logins"] > 0
    for clock in ("wall", "cpu"):
        assert (
            0 < result[f"{clock}_p50_ms"] <= result[f"{clock}_p99_ms"] <= result[f"{clock}_max_ms"]
        )
    assert (result["customers"], result["days"]) == (100, 2)
