"""One typed Settings object, read from the environment (prefix KABUGUARD_) and passed in.

Nothing reads the environment at import time: `create_app(settings)` and the CLI build a
Settings and hand it down, so tests can run several differently configured apps side by side.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kabuguard.notifications.crypto import decode_key
from kabuguard.notifications.kinds import NoticeKind

DEVELOPMENT_PEPPER = "development-only-api-key-pepper-do-not-use-in-production"
# base64 of b"development-only-data-key-32byte": encrypts contact details in development only.
DEVELOPMENT_DATA_KEY = "ZGV2ZWxvcG1lbnQtb25seS1kYXRhLWtleS0zMmJ5dGU="
DEFAULT_DATABASE_URL = "sqlite:///./var/kabuguard.db"
_DEVELOPMENT_KEY_BYTES = decode_key(DEVELOPMENT_DATA_KEY)


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    # hide_input_in_errors: a refused setting must not print the others (secrets) to the log.
    model_config = SettingsConfigDict(
        env_prefix="KABUGUARD_", extra="ignore", frozen=True, hide_input_in_errors=True
    )

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
    # Any other request body: lists, cases, contacts, auth (a passkey attestation is a few KB).
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    max_batch_events: int = Field(default=10_000, ge=1, le=10_000)
    # Single events being decided at once; past it, 503 with Retry-After rather than a queue
    # that grows without bound while the writer falls behind.
    max_events_in_flight: int = Field(default=5_000, ge=1)
    # An event not decided within this answers 503; a retry with the same event id gets the
    # decision, should it have been stored after all.
    decision_timeout_seconds: float = Field(default=30.0, gt=0)
    batch_commit_every: int = Field(default=500, ge=1)
    # Events stamped further in the future than this are refused: a broker clock gone wrong
    # would otherwise let restrictions and halts be judged against the wrong time.
    max_future_skew_seconds: int = Field(default=300, ge=0)

    # Also PostgreSQL's lock_timeout, where 0 would mean waiting for ever.
    sqlite_busy_timeout_ms: int = Field(default=5_000, ge=1)
    # FULL survives power loss; NORMAL is faster but may lose the last answered decisions
    # (docs/operations.md). PostgreSQL follows its own synchronous_commit.
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    auto_migrate: bool = True
    # `serve` decides events in a writer process of its own, so that the server's threads and
    # the writer do not share one interpreter lock (ADR 0008); false: one process, as before.
    writer_process: bool = True
    # Proxies (load balancer, TLS terminator) whose X-Forwarded-For is trusted for the client's
    # address: comma-separated addresses or networks, or "*" when only the proxy can reach
    # the service. Behind an untrusted proxy every customer shares one address.
    forwarded_allow_ips: str = "127.0.0.1,::1"
    log_level: str = "INFO"
    log_json: bool = True

    # Notifications (docs/notifications.md). Contact details are encrypted under the data key;
    # previous keys only decrypt, so a key can be rotated without losing stored contacts.
    data_key: SecretStr = SecretStr(DEVELOPMENT_DATA_KEY)
    previous_data_keys: list[SecretStr] = []
    public_base_url: str = "http://127.0.0.1:8000"
    broker_name: str = Field(default="Example Securities", min_length=1, max_length=100)
    broker_phone: str = Field(default="0120-000-000", min_length=1, max_length=40)
    # An address on the broker's own domain, aligned with its SPF/DKIM/DMARC records.
    mail_from: str = Field(default="security@example.com", pattern=r"^[^@\s<>]+@[^@\s<>]+$")
    mail_from_name: str | None = None
    smtp_host: str | None = None  # unset: no e-mail channel
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_tls: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    sms_webhook_url: str | None = None  # unset: no SMS channel
    push_webhook_url: str | None = None  # unset: no push channel
    webhook_secret: SecretStr | None = None
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    # Optional notices the broker turns on for everyone; customers may add or remove them.
    notify_optional_defaults: frozenset[NoticeKind] = frozenset()
    dispatch_in_serve: bool = True
    dispatch_batch_size: int = Field(default=100, ge=1, le=1000)
    dispatch_poll_seconds: float = Field(default=1.0, gt=0)
    dispatch_gather_seconds: float = Field(default=0.05, ge=0, le=5)
    dispatch_lease_seconds: float = Field(default=120.0, gt=0)
    dispatch_max_attempts: int = Field(default=12, ge=1)
    dispatch_backoff_base_seconds: float = Field(default=5.0, gt=0)
    dispatch_backoff_cap_seconds: float = Field(default=900.0, gt=0)
    freeze_link_days: int = Field(default=7, ge=1, le=30)

    # Customer authentication (docs/authentication.md). RP ID and origins default to the host
    # and origin of KABUGUARD_PUBLIC_BASE_URL; a passkey is bound to them for life.
    auth_rp_id: str | None = None
    auth_origins: list[str] = []
    auth_policy_file: Path | None = None  # factor class per action; auth/default_policy.toml
    auth_cookie_secure: bool = True  # off only for http://localhost development
    auth_open_signup: bool = False  # the hosted customer-creation page, for demos
    auth_password_max_failures: int = Field(default=5, ge=1, le=100)
    auth_second_factor_max_failures: int = Field(default=5, ge=1, le=100)
    auth_lock_base_seconds: int = Field(default=60, ge=1)
    auth_lock_max_seconds: int = Field(default=3600, ge=1)
    auth_ip_max_failures: int = Field(default=30, ge=1)
    auth_network_max_failures: int = Field(default=100, ge=1)
    auth_throttle_window_seconds: int = Field(default=900, ge=1)
    auth_session_idle_minutes: int = Field(default=30, ge=1)
    auth_session_max_hours: int = Field(default=12, ge=1)
    auth_step_ttl_seconds: int = Field(default=300, ge=30, le=3600)  # logins, challenges, codes
    auth_email_code_max_attempts: int = Field(default=5, ge=1, le=10)
    auth_signing_ttl_seconds: int = Field(default=600, ge=60, le=86400)

    @model_validator(mode="after")
    def _check_notification_settings(self) -> Settings:
        decode_key(self.data_key.get_secret_value())
        for key in self.previous_data_keys:
            decode_key(key.get_secret_value())
        optional = [kind for kind in self.notify_optional_defaults if not kind.optional]
        if optional:
            raise ValueError(
                "KABUGUARD_NOTIFY_OPTIONAL_DEFAULTS lists security notices, which are always "
                f"sent: {', '.join(sorted(optional))}"
            )
        if (self.sms_webhook_url or self.push_webhook_url) and self.webhook_secret is None:
            raise ValueError("KABUGUARD_WEBHOOK_SECRET must be set when a webhook URL is set")
        if not self.public_base_url.startswith(("http://", "https://")):
            raise ValueError("KABUGUARD_PUBLIC_BASE_URL must start with https:// (or http://)")
        return self

    @model_validator(mode="after")
    def _refuse_placeholders_outside_development(self) -> Settings:
        if self.environment is Environment.DEVELOPMENT:
            return self
        if self._placeholder_pepper or len(self.api_key_pepper.get_secret_value().strip()) < 32:
            raise ValueError(
                "KABUGUARD_API_KEY_PEPPER must be set to a random secret of at least 32 "
                f"characters when KABUGUARD_ENVIRONMENT={self.environment.value}"
            )
        if self._placeholder_data_key:
            raise ValueError(
                "KABUGUARD_DATA_KEY must be set to base64 of 32 random bytes when "
                f"KABUGUARD_ENVIRONMENT={self.environment.value}"
            )
        if self.environment is Environment.PRODUCTION and not self.public_base_url.startswith(
            "https://"
        ):
            raise ValueError("KABUGUARD_PUBLIC_BASE_URL must be https:// in production")
        return self

    @property
    def uses_placeholder_secrets(self) -> bool:
        """The published development pepper or data key: fine on a developer's machine, never
        where anyone else can reach the service."""
        return self._placeholder_pepper or self._placeholder_data_key

    # Compared as used, not as written: a mounted secret file often ends in a newline.
    @property
    def _placeholder_pepper(self) -> bool:
        return self.api_key_pepper.get_secret_value().strip() == DEVELOPMENT_PEPPER

    @property
    def _placeholder_data_key(self) -> bool:
        return decode_key(self.data_key.get_secret_value()) == _DEVELOPMENT_KEY_BYTES

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


# Read by the test suite, not by the service.
_TOOLING_VARIABLES = frozenset({"KABUGUARD_REQUIRE_SERVICES", "KABUGUARD_TEST_POSTGRES_URL"})


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """`KABUGUARD_*` names no setting reads: a typo (`KABUGUARD_ENV=production`) is otherwise
    silently ignored, and the service runs on the defaults."""
    known = {f"KABUGUARD_{name.upper()}" for name in Settings.model_fields} | _TOOLING_VARIABLES
    return sorted(
        n for n in environ if n.upper().startswith("KABUGUARD_") and n.upper() not in known
    )
