"""auth: a session's engine session id; credential ids up to WebAuthn's 1023 bytes

The downgrade narrows credential ids back to 700 characters. It refuses, naming how many rows
are longer, rather than fail halfway on PostgreSQL or truncate silently: remove those passkeys
and signing requests first (their customers register the passkey again after the downgrade).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# base64url without padding of 1023 bytes (WebAuthn's cap on a credential id).
_WIDE = sa.String(length=1364)
_NARROW = sa.String(length=700)
_CREDENTIAL_COLUMNS = (("auth_passkeys", False), ("auth_signing_requests", True))


def upgrade() -> None:
    with op.batch_alter_table("auth_sessions") as batch:
        batch.add_column(sa.Column("event_session_id", sa.String(length=128), nullable=True))
    for table, nullable in _CREDENTIAL_COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                "credential_id", type_=_WIDE, existing_type=_NARROW, existing_nullable=nullable
            )


def downgrade() -> None:
    _refuse_longer_ids()
    for table, nullable in _CREDENTIAL_COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                "credential_id", type_=_NARROW, existing_type=_WIDE, existing_nullable=nullable
            )
    with op.batch_alter_table("auth_sessions") as batch:
        batch.drop_column("event_session_id")


def _refuse_longer_ids() -> None:
    """Stop before changing anything if a stored credential id would not fit 700 characters."""
    bind = op.get_bind()
    longer = {}
    for table, _ in _CREDENTIAL_COLUMNS:
        column = sa.column("credential_id", sa.String)
        count = bind.execute(
            sa.select(sa.func.count())
            .select_from(sa.table(table, column))
            .where(sa.func.length(column) > _NARROW.length)
        ).scalar_one()
        if count:
            longer[table] = int(count)
    if longer:
        found = ", ".join(f"{count} row(s) in {table}" for table, count in longer.items())
        raise RuntimeError(
            f"downgrade below 0006 refused: {found} have a credential_id longer than "
            f"{_NARROW.length} characters, which the older column cannot hold; delete those "
            "rows first (their customers register the passkey again) or stay on 0006"
        )
