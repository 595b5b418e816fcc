"""The order bench hook times order decisions and reports its quantiles (no timing asserted)."""

from __future__ import annotations

from kabuguard.bench.orders import measure_order_decisions


def test_measure_order_decisions_reports_ordered_quantiles() -> None:
    result = measure_order_decisions(orders=300, customers=50)
    assert result["orders"] == 300
    assert 0 < result["p50_ms"] <= result["p99_ms"]
