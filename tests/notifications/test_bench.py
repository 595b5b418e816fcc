"""The benchmark hooks run end to end on a small workload and report what they measured."""

from __future__ import annotations

from kabuguard.notifications.bench import measure_outbox, measure_smtp


def test_measure_smtp_delivers_every_message_to_a_real_server() -> None:
    result = measure_smtp(40)
    assert result["warmup_messages"] == 100  # one batch before the clock starts
    assert result["delivered"] == result["received_by_server"] == 140
    assert result["emails_per_s"] > 0
    assert result["target_per_s"] == 500


def test_measure_outbox_compares_the_decision_path_with_and_without_notifications() -> None:
    result = measure_outbox(300, customers=50)
    assert result["events"] == 300
    assert result["outbox_rows"] == 500  # (200 orders and withdrawals + 50 first logins) x 2
    assert result["outbox_rows_per_s"] > 0
    assert result["decisions_per_s_without_notifications"] > 0
