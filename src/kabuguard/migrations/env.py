"""Alembic environment: runs migrations through kabuguard's own Database (same pragmas)."""

from __future__ import annotations

from alembic import context

import kabuguard.apikeys.models
import kabuguard.audit.models
import kabuguard.auth.models
import kabuguard.decisions.models
import kabuguard.notifications.models
import kabuguard.state.guard_models
import kabuguard.state.models  # noqa: F401  (register every table on the metadata)
from kabuguard.db import Base, Database

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
        context.run_migrations()
    connection.commit()
database.dispose()
