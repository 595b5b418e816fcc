"""One typed Settings object, read from the environment (prefix KABUGUARD_) and passed in.

Nothing reads the environment at import time: `create_app(settings)` and the CLI build a
Settings and hand it down, so tests can run several differently configured apps side by side.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_PEPPER = "development-only-api-key-pepper-do-not-use-in-production"
DEFAULT_DATABASE_URL = "sqlite:///./var/kabuguard.db"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KABUGUARD_", extra="ignore", frozen=True)

    environment: Environment = Environment.DEVELOPMENT
    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)

    # API keys are stored as HMAC-SHA256(pepper, key): a stolen table alone verifies nothing.
    api_key_pepper: SecretStr = SecretStr(DEVELOPMENT_PEPPER)

    policy_file: Path | None = None
    shadow_policy_file: Path | None = None

    max_event_bytes: int = Field(default=64 * 1024, ge=1024)
    max_batch_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    max_batch_events: int = Field(default=10_000, ge=1, le=10_000)
    batch_commit_every: int = Field(default=500, ge=1)
    # Events stamped further in the future than this are refused: a broker clock gone wrong
    # would otherwise let restrictions and halts be judged against the wrong time.
    max_future_skew_seconds: int = Field(default=300, ge=0)

    sqlite_busy_timeout_ms: int = Field(default=5_000, ge=0)
    # FULL survives power loss; NORMAL is faster but may lose the last answered decisions
    # (docs/operations.md). PostgreSQL follows its own synchronous_commit.
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    auto_migrate: bool = True
    log_level: str = "INFO"
    log_json: bool = True

    @model_validator(mode="after")
    def _refuse_placeholders_outside_development(self) -> Settings:
        if self.environment is Environment.DEVELOPMENT:
            return self
        pepper = self.api_key_pepper.get_secret_value()
        if pepper == DEVELOPMENT_PEPPER or len(pepper) < 32:
            raise ValueError(
                "KABUGUARD_API_KEY_PEPPER must be set to a random secret of at least 32 "
                f"characters when KABUGUARD_ENVIRONMENT={self.environment.value}"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
