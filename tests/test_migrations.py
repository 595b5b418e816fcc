"""Migrations build exactly the models' schema, and go down and up again, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from kabuguard import migrations
from kabuguard.db import Base, Database


def test_migrated_schema_matches_the_models(database: Database) -> None:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_downgrade_to_base_and_upgrade_again(database_url: str, database: Database) -> None:
    migrations.downgrade(database_url, "base")
    assert set(inspect(database.engine).get_table_names()) <= {"alembic_version"}
    migrations.upgrade(database_url)
    assert set(Base.metadata.tables) <= set(inspect(database.engine).get_table_names())
