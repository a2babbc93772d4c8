"""Alembic environment: runs migrations on the connection `tools.storage.db.migrate` hands over."""

from alembic import context

import tools.storage.db

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only `tools.storage.db.migrate` is supported
    raise RuntimeError("run migrations through tools.storage.db.migrate()")

context.configure(connection=connection, target_metadata=tools.storage.db.Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
