"""Migrations build exactly the models' schema, and go down and up again, on both backends."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from kabuguard import migrations
from kabuguard.db import Base, Database
from tests.cli_helpers import run_cli


def test_migrated_schema_matches_the_models(database: Database) -> None:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_downgrade_to_base_and_upgrade_again(database_url: str, database: Database) -> None:
    migrations.downgrade(database_url, "base")
    assert set(inspect(database.engine).get_table_names()) <= {"alembic_version"}
    migrations.upgrade(database_url)
    assert set(Base.metadata.tables) <= set(inspect(database.engine).get_table_names())


def test_two_upgrades_at_once_both_succeed(database_url: str, database: Database) -> None:
    """Two pods starting together each run `db upgrade`: one waits, then finds nothing to do.
    Processes, as in life: Alembic's context is one per process."""
    migrations.downgrade(database_url, "base")
    with ThreadPoolExecutor(2) as pool:
        runs = [pool.submit(run_cli, "db", "upgrade", database_url=database_url) for _ in "ab"]
        for run in runs:
            assert run.result().returncode == 0, run.result().stderr
    assert set(Base.metadata.tables) <= set(inspect(database.engine).get_table_names())
