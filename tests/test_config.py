"""Settings: typed, from KABUGUARD_*, placeholder secrets refused outside development."""

from __future__ import annotations

import pytest

from kabuguard.config import DEFAULT_DATABASE_URL, Environment, Settings


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
    assert Settings().environment.value == environment


def test_values_come_from_the_environment_and_are_validated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KABUGUARD_PORT", "9123")
    assert Settings().port == 9123
    monkeypatch.setenv("KABUGUARD_PORT", "99999")
    with pytest.raises(ValueError, match="port"):
        Settings()
