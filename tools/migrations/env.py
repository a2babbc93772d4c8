"""Alembic environment: runs migrations on the connection `tools.db.migrate` hands over."""

from alembic import context

import tools.db

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only `tools.db.migrate` is supported
    raise RuntimeError("run migrations through tools.db.migrate()")

context.configure(connection=connection, target_metadata=tools.db.Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
