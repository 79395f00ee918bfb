"""Alembic environment: migrations run on the connection ``core.store`` passes in.

The caller (``core.store._migrate``) has begun the transaction (``BEGIN IMMEDIATE`` on SQLite,
with an advisory lock on PostgreSQL), so that the whole upgrade commits or rolls back at once.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
