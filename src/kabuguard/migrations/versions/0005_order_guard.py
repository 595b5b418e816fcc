"""order and payout guard: customer records, keyed windows, cases, holds, restrictions, names

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 16:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "guard_customers",
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_guard_customers")),
    )
    op.create_table(
        "guard_keys",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("expires", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_guard_keys")),
    )
    op.create_index(op.f("ix_guard_keys_expires"), "guard_keys", ["expires"], unique=False)
    op.create_table(
        "cases",
        sa.Column("case_id", sa.String(length=100), nullable=False),
        sa.Column("market", sa.String(length=10), nullable=False),
        sa.Column("symbol", sa.String(length=16), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("halt", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.event_id"], name=op.f("fk_cases_event_id_events")
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_cases")),
    )
    op.create_index(op.f("ix_cases_opened_at"), "cases", ["opened_at"], unique=False)
    op.create_table(
        "case_accounts",
        sa.Column("case_id", sa.String(length=100), nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.case_id"], name=op.f("fk_case_accounts_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("case_id", "customer_id", name=op.f("pk_case_accounts")),
    )
    op.create_table(
        "holds",
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=128), nullable=True),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("release_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.event_id"], name=op.f("fk_holds_event_id_events")
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_holds")),
    )
    op.create_index(op.f("ix_holds_customer_id"), "holds", ["customer_id"], unique=False)
    op.create_index("ix_holds_status_held_at", "holds", ["status", "held_at"], unique=False)
    op.create_table(
        "product_restrictions",
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("market", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", "market", name=op.f("pk_product_restrictions")),
    )
    op.create_table(
        "registered_names",
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("name_kana", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_registered_names")),
    )


def downgrade() -> None:
    op.drop_table("registered_names")
    op.drop_table("product_restrictions")
    op.drop_index("ix_holds_status_held_at", table_name="holds")
    op.drop_index(op.f("ix_holds_customer_id"), table_name="holds")
    op.drop_table("holds")
    op.drop_table("case_accounts")
    op.drop_index(op.f("ix_cases_opened_at"), table_name="cases")
    op.drop_table("cases")
    op.drop_index(op.f("ix_guard_keys_expires"), table_name="guard_keys")
    op.drop_table("guard_keys")
    op.drop_table("guard_customers")
