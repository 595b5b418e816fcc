"""customer authentication: accounts, passkeys, challenges, sessions, codes, signing, unlocks

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "auth_accounts",
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("user_handle", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("password_failures", sa.Integer(), nullable=False),
        sa.Column("password_lockouts", sa.Integer(), nullable=False),
        sa.Column("password_locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("factor_failures", sa.Integer(), nullable=False),
        sa.Column("factor_lockouts", sa.Integer(), nullable=False),
        sa.Column("factor_locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("totp_secret", sa.Text(), nullable=True),
        sa.Column("totp_pending", sa.Text(), nullable=True),
        sa.Column("totp_last_step", sa.BigInteger(), nullable=True),
        sa.Column("self_lock", sa.String(length=16), nullable=True),
        sa.Column("self_locked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_auth_accounts")),
        sa.UniqueConstraint("user_handle", name=op.f("uq_auth_accounts_user_handle")),
        sa.UniqueConstraint("username", name=op.f("uq_auth_accounts_username")),
    )
    op.create_table(
        "auth_challenges",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=True),
        sa.Column("challenge", sa.String(length=128), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_challenges")),
    )
    op.create_table(
        "auth_email_codes",
        sa.Column("id", _ID, nullable=False),
        sa.Column("login_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_email_codes")),
    )
    op.create_index(
        op.f("ix_auth_email_codes_login_id"), "auth_email_codes", ["login_id"], unique=False
    )
    op.create_table(
        "auth_passkeys",
        sa.Column("credential_id", sa.String(length=700), nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=False),
        sa.Column("transports", sa.Text(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("credential_id", name=op.f("pk_auth_passkeys")),
    )
    op.create_index(
        op.f("ix_auth_passkeys_customer_id"), "auth_passkeys", ["customer_id"], unique=False
    )
    op.create_table(
        "auth_pending_logins",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("required", sa.String(length=32), nullable=False),
        sa.Column("enrol_only", sa.Boolean(), nullable=False),
        sa.Column("device_id", sa.String(length=256), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_pending_logins")),
    )
    op.create_table(
        "auth_recovery_codes",
        sa.Column("id", _ID, nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_recovery_codes")),
    )
    op.create_index(
        "ix_auth_recovery_codes_lookup",
        "auth_recovery_codes",
        ["customer_id", "digest"],
        unique=False,
    )
    op.create_table(
        "auth_sessions",
        sa.Column("id", _ID, nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("device_id", sa.String(length=256), nullable=False),
        sa.Column("factor", sa.String(length=32), nullable=False),
        sa.Column("factor_class", sa.String(length=32), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("network", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.Column("authenticated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_sessions")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_auth_sessions_token_digest")),
    )
    op.create_index(
        op.f("ix_auth_sessions_customer_id"), "auth_sessions", ["customer_id"], unique=False
    )
    op.create_table(
        "auth_signing_requests",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("credential_id", sa.String(length=700), nullable=True),
        sa.Column("event_id", sa.String(length=128), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_signing_requests")),
    )
    op.create_index(
        op.f("ix_auth_signing_requests_customer_id"),
        "auth_signing_requests",
        ["customer_id"],
        unique=False,
    )
    op.create_table(
        "auth_throttles",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("window_ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_auth_throttles")),
    )
    op.create_index(
        op.f("ix_auth_throttles_window_ends_at"), "auth_throttles", ["window_ends_at"], unique=False
    )
    op.create_table(
        "auth_unlock_requests",
        sa.Column("id", _ID, nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("first_operator", sa.String(length=200), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("second_operator", sa.String(length=200), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_unlock_requests")),
    )
    op.create_index(
        op.f("ix_auth_unlock_requests_customer_id"),
        "auth_unlock_requests",
        ["customer_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_auth_unlock_requests_customer_id"), table_name="auth_unlock_requests")
    op.drop_table("auth_unlock_requests")
    op.drop_index(op.f("ix_auth_throttles_window_ends_at"), table_name="auth_throttles")
    op.drop_table("auth_throttles")
    op.drop_index(op.f("ix_auth_signing_requests_customer_id"), table_name="auth_signing_requests")
    op.drop_table("auth_signing_requests")
    op.drop_index(op.f("ix_auth_sessions_customer_id"), table_name="auth_sessions")
    op.drop_table("auth_sessions")
    op.drop_index("ix_auth_recovery_codes_lookup", table_name="auth_recovery_codes")
    op.drop_table("auth_recovery_codes")
    op.drop_table("auth_pending_logins")
    op.drop_index(op.f("ix_auth_passkeys_customer_id"), table_name="auth_passkeys")
    op.drop_table("auth_passkeys")
    op.drop_index(op.f("ix_auth_email_codes_login_id"), table_name="auth_email_codes")
    op.drop_table("auth_email_codes")
    op.drop_table("auth_challenges")
    op.drop_table("auth_accounts")
