"""Alembic environment: runs migrations through kabuguard's own Database (same pragmas)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

import kabuguard.apikeys.models
import kabuguard.audit.models
import kabuguard.auth.models
import kabuguard.decisions.models
import kabuguard.notifications.models
import kabuguard.state.guard_models
import kabuguard.state.models  # noqa: F401  (register every table on the metadata)
from kabuguard.db import Base, Database

_LOCK_KEY = 0x6B61_6275_6775_6172  # "kabuguar": one advisory lock for every migration run
config = context.config
database = Database(config.attributes["database_url"])

with database.engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=database.is_sqlite,
        compare_type=True,
    )
    with context.begin_transaction():
        if not database.is_sqlite:
            # Two `db upgrade` at once (two pods starting) would both create alembic_version:
            # the second waits here, then finds the schema current. SQLite's writer lock does
            # the same there.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        context.run_migrations()
    connection.commit()
database.dispose()
