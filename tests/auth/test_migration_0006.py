"""Migration 0006's downgrade refuses to narrow credential ids that would not fit."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.migration import MigrationContext
from sqlalchemy import delete

from kabuguard import migrations
from kabuguard.auth.models import CREDENTIAL_ID_CHARS, PasskeyRow
from kabuguard.db import Database


def _revision(database: Database) -> str | None:
    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def test_the_downgrade_below_0006_refuses_longer_credential_ids(
    database_url: str, database: Database
) -> None:
    longest = "A" * CREDENTIAL_ID_CHARS  # a 1023-byte id, as WebAuthn allows
    with database.write() as session:
        session.add(
            PasskeyRow(
                credential_id=longest,
                customer_id="c-1",
                public_key="pk",
                sign_count=0,
                transports="[]",
                name="passkey",
                created_at=datetime(2026, 12, 1, tzinfo=UTC),
            )
        )
    try:
        with pytest.raises(RuntimeError, match=r"1 row\(s\) in auth_passkeys") as refused:
            migrations.downgrade(database_url, "0005")
        assert "longer than 700 characters" in str(refused.value)
        assert "auth_signing_requests" not in str(refused.value)
        assert _revision(database) == "0006"  # nothing was changed

        with database.write() as session:
            session.execute(delete(PasskeyRow))
        migrations.downgrade(database_url, "0005")
        assert _revision(database) == "0005"
    finally:
        migrations.upgrade(database_url)  # the next tests share this database
