"""The factor policy: defaults, the transition to passkeys, risk challenges, bad files."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kabuguard.auth.policy import AuthPolicy, satisfies
from kabuguard.risk.codes import Action, FactorClass
from kabuguard.risk.events import Factor

PR, ANY = FactorClass.PHISHING_RESISTANT, FactorClass.ANY_MFA
BEFORE = datetime(2027, 3, 31, 14, 59, tzinfo=UTC)  # 23:59 on 31 March in Japan
AFTER = datetime(2027, 3, 31, 15, 0, tzinfo=UTC)


def test_defaults_require_passkeys_for_all_but_orders() -> None:
    policy = AuthPolicy.default()
    assert {a for a, c in policy.required.items() if c is ANY} == {Action.ORDER}
    assert policy.needed(Action.WITHDRAWAL, AFTER, None) is PR
    assert policy.needed(Action.ORDER, AFTER, None) is ANY


def test_the_transition_allows_any_mfa_until_its_date_in_japan_time() -> None:
    policy = AuthPolicy.default()
    assert policy.needed(Action.LOGIN, BEFORE, None) is ANY
    assert policy.needed(Action.LOGIN, AFTER, None) is PR
    assert policy.needed(Action.LOGIN, BEFORE, PR) is PR  # a risk challenge wins


def test_factor_classes() -> None:
    assert satisfies(Factor.PASSKEY, PR)
    assert not satisfies(Factor.TOTP, PR)
    assert all(satisfies(f, ANY) for f in Factor)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('version = "x"\n[required_factor]\nlogin = "sms"\n', "required_factor"),
        ('version = "x"\n[required_factor]\nlogin = "any_mfa"\n', "lacks"),
        ('version = "x"\nsurprise = 1\n', "surprise"),
        ("not toml [", "policy.toml"),
    ],
)
def test_bad_policy_files_name_the_problem(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        AuthPolicy.parse(text, "policy.toml")
