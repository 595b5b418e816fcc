"""login risk: customer history profiles, leak list, and expiring login counters

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 14:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_profiles",
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("profile", sa.Text(), nullable=True),
        sa.Column("exposed_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("exposed_source", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_login_profiles")),
    )
    op.create_table(
        "login_counters",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.BigInteger(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("unknown_usernames", sa.Integer(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("expires", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", "bucket", name=op.f("pk_login_counters")),
    )
    op.create_index(op.f("ix_login_counters_expires"), "login_counters", ["expires"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_login_counters_expires"), table_name="login_counters")
    op.drop_table("login_counters")
    op.drop_table("login_profiles")
