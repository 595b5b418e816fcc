"""Settings: typed, from KABUGUARD_*, placeholder secrets refused outside development."""

from __future__ import annotations

import pytest

from kabuguard.config import (
    DEFAULT_DATABASE_URL,
    DEVELOPMENT_DATA_KEY,
    DEVELOPMENT_PEPPER,
    Environment,
    Settings,
    unknown_variables,
)
from tests.conftest import TEST_DATA_KEY


def test_defaults_run_the_embedded_sqlite_in_development(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KABUGUARD_ENVIRONMENT", "KABUGUARD_DATABASE_URL", "KABUGUARD_API_KEY_PEPPER"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.environment is Environment.DEVELOPMENT
    assert settings.database_url == DEFAULT_DATABASE_URL == "sqlite:///./var/kabuguard.db"
    assert settings.is_sqlite


@pytest.mark.parametrize("environment", ["production", "test"])
def test_placeholder_pepper_is_refused_outside_development(
    monkeypatch: pytest.MonkeyPatch, environment: str
) -> None:
    monkeypatch.setenv("KABUGUARD_ENVIRONMENT", environment)
    monkeypatch.delenv("KABUGUARD_API_KEY_PEPPER", raising=False)
    with pytest.raises(ValueError, match="KABUGUARD_API_KEY_PEPPER must be set"):
        Settings()
    monkeypatch.setenv("KABUGUARD_API_KEY_PEPPER", "short")
    with pytest.raises(ValueError, match="at least 32 characters"):
        Settings()
    monkeypatch.setenv("KABUGUARD_API_KEY_PEPPER", "a" * 40)
    monkeypatch.setenv("KABUGUARD_DATA_KEY", TEST_DATA_KEY)
    monkeypatch.setenv("KABUGUARD_PUBLIC_BASE_URL", "https://kabuguard.broker.example")
    assert Settings().environment.value == environment
    if environment == "production":
        monkeypatch.setenv("KABUGUARD_PUBLIC_BASE_URL", "http://kabuguard.broker.example")
        with pytest.raises(ValueError, match="must be https:// in production"):
            Settings()


@pytest.mark.parametrize("environment", ["production", "test"])
def test_placeholder_data_key_is_refused_outside_development(
    monkeypatch: pytest.MonkeyPatch, environment: str
) -> None:
    monkeypatch.setenv("KABUGUARD_ENVIRONMENT", environment)
    monkeypatch.setenv("KABUGUARD_API_KEY_PEPPER", "a" * 40)
    monkeypatch.delenv("KABUGUARD_DATA_KEY", raising=False)
    with pytest.raises(ValueError, match="KABUGUARD_DATA_KEY must be set"):
        Settings()
    monkeypatch.setenv("KABUGUARD_DATA_KEY", "c2hvcnQ=")
    with pytest.raises(ValueError, match="32 bytes, not 5 bytes"):
        Settings()


def test_notification_settings_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KABUGUARD_NOTIFY_OPTIONAL_DEFAULTS", '["login:device:known"]')
    assert [kind.value for kind in Settings().notify_optional_defaults] == ["login:device:known"]
    monkeypatch.setenv("KABUGUARD_NOTIFY_OPTIONAL_DEFAULTS", '["login:device:new"]')
    with pytest.raises(ValueError, match="security notices, which are always sent"):
        Settings()
    monkeypatch.delenv("KABUGUARD_NOTIFY_OPTIONAL_DEFAULTS")
    monkeypatch.setenv("KABUGUARD_SMS_WEBHOOK_URL", "https://sms.example/hook")
    with pytest.raises(ValueError, match="KABUGUARD_WEBHOOK_SECRET must be set"):
        Settings()
    monkeypatch.setenv("KABUGUARD_WEBHOOK_SECRET", "s" * 32)
    assert Settings().sms_webhook_url == "https://sms.example/hook"
    monkeypatch.setenv("KABUGUARD_MAIL_FROM", "not an address")
    with pytest.raises(ValueError, match="mail_from"):
        Settings()


def test_values_come_from_the_environment_and_are_validated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KABUGUARD_PORT", "9123")
    assert Settings().port == 9123
    monkeypatch.setenv("KABUGUARD_PORT", "99999")
    with pytest.raises(ValueError, match="port"):
        Settings()


def _production(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    monkeypatch.setenv("KABUGUARD_ENVIRONMENT", "production")
    monkeypatch.setenv("KABUGUARD_PUBLIC_BASE_URL", "https://kabuguard.broker.example")
    for name, value in env.items():
        monkeypatch.setenv(f"KABUGUARD_{name.upper()}", value)


def test_a_placeholder_written_with_a_trailing_newline_is_still_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Secrets mounted from files often end in a newline: the check compares what is used."""
    _production(monkeypatch, api_key_pepper=DEVELOPMENT_PEPPER + "\n", data_key=TEST_DATA_KEY)
    with pytest.raises(ValueError, match="KABUGUARD_API_KEY_PEPPER must be set"):
        Settings()
    _production(monkeypatch, api_key_pepper="a" * 40, data_key=DEVELOPMENT_DATA_KEY + "\n")
    with pytest.raises(ValueError, match="KABUGUARD_DATA_KEY must be set"):
        Settings()


def test_a_refused_setting_does_not_print_the_other_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secrets = {"smtp_password": "hunter2-smtp-password", "webhook_secret": "w" * 40 + "TAIL"}
    _production(monkeypatch, api_key_pepper="short", **secrets)
    with pytest.raises(ValueError, match="at least 32 characters") as refused:
        Settings()
    assert "hunter2" not in str(refused.value)
    assert "wwwwTAIL" not in str(refused.value)


def test_unknown_kabuguard_variables_are_named_and_the_suites_own_are_not() -> None:
    environ = {
        "KABUGUARD_ENV": "production",
        "KABUGUARD_ENVIRONMENT": "test",
        "KABUGUARD_REQUIRE_SERVICES": "1",
        "HOME": "/root",
    }
    assert unknown_variables(environ) == ["KABUGUARD_ENV"]
