"""An amount's one spelling, shared by stored events and signed transaction details."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kabuguard.risk.money import decimal_text


@pytest.mark.parametrize(
    ("sent", "spelt"),
    [("2500.0", "2500"), ("2.5E+3", "2500"), ("0.50", "0.5"), ("0.000", "0"), ("-0", "0"),
     ("1E-6", "0.000001"), ("12345678901234.123456", "12345678901234.123456")],
)  # fmt: skip
def test_an_amount_is_spelt_in_its_shortest_plain_form(sent: str, spelt: str) -> None:
    assert decimal_text(Decimal(sent)) == spelt
