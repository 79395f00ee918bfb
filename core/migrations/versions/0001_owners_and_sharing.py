"""Setups with owners, readers, reproducibility record; working setups; Ballast 0.1 taken over.

Ballast 0.1 kept setups in a table ``setups (name PRIMARY KEY, schema_version, saved_at ISO
text, payload JSON text)``. When that table is found, every row is copied into the new table,
owned by ``"local"`` (single-user local mode), created and updated at its ``saved_at``,
revision 1, private; a payload that is not valid JSON is kept as text (loading it says it is
damaged, as before). The old table is dropped in the same transaction.

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

import datetime as dt
import json
import secrets

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

LOCAL_USER = "local"
LEGACY_COLUMNS = {"name", "schema_version", "saved_at", "payload"}


def _create() -> None:
    op.create_table(
        "setups",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("owner", sa.String(320), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("schema_version", sa.Integer, nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("versions", sa.JSON, nullable=True),
        sa.Column("data_fingerprint", sa.String(80), nullable=True),
        sa.Column("data_summary", sa.JSON, nullable=True),
        sa.Column("key_figures", sa.JSON, nullable=True),
        sa.UniqueConstraint("owner", "name", name="uq_setups_owner_name"),
    )
    op.create_index("ix_setups_owner", "setups", ["owner"])
    op.create_table(
        "setup_readers",
        sa.Column("setup_id", sa.String(32), sa.ForeignKey("setups.id", ondelete="CASCADE"),
                  primary_key=True),  # fmt: skip
        sa.Column("reader", sa.String(320), primary_key=True),
    )
    op.create_index("ix_setup_readers_reader", "setup_readers", ["reader"])
    op.create_table(
        "working_setups",
        sa.Column("owner", sa.String(320), primary_key=True),
        sa.Column("schema_version", sa.Integer, nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def _when(text: object) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(str(text))
    except ValueError:
        return dt.datetime.now(dt.UTC)
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def _payload(text: object) -> object:
    try:
        return json.loads(str(text))
    except json.JSONDecodeError:
        return str(text)  # kept; loading it reports the damage


def upgrade() -> None:
    """Create the tables; take over a Ballast 0.1 ``setups`` table if there is one."""
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    legacy = []
    if "setups" in inspector.get_table_names():
        columns = {c["name"] for c in inspector.get_columns("setups")}
        if columns != LEGACY_COLUMNS:
            raise RuntimeError("a 'setups' table of unknown shape is in the way")
        legacy = list(bind.execute(sa.text(
            "SELECT name, schema_version, saved_at, payload FROM setups"
        )))  # fmt: skip
        op.rename_table("setups", "setups_ballast_0_1")
    _create()
    if legacy:
        table = sa.table(
            "setups", sa.column("id"), sa.column("owner"), sa.column("name"),
            sa.column("schema_version"), sa.column("payload", sa.JSON),
            sa.column("created_at", sa.DateTime(timezone=True)),
            sa.column("updated_at", sa.DateTime(timezone=True)), sa.column("revision"),
        )  # fmt: skip
        op.bulk_insert(table, [
            {"id": secrets.token_hex(8), "owner": LOCAL_USER, "name": " ".join(str(name).split())
             or "unnamed", "schema_version": int(version), "payload": _payload(payload),
             "created_at": _when(saved_at), "updated_at": _when(saved_at), "revision": 1}
            for name, version, saved_at, payload in legacy
        ])  # fmt: skip
        op.drop_table("setups_ballast_0_1")


def downgrade() -> None:
    """Drop the tables (the setups with them)."""
    op.drop_table("working_setups")
    op.drop_table("setup_readers")
    op.drop_table("setups")
