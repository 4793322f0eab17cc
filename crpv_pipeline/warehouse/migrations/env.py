"""Alembic's environment for the warehouse: run the migrations on the caller's connection.

``migrate`` builds the Alembic ``Config`` in code and puts in its ``attributes`` the connection
(inside the write transaction, which holds the write lock) and a callback told of each revision
applied. Nothing here opens a connection, reads a setting or an ``alembic.ini``: the migrations
run only through ``crpv upgrade`` and ``schema.ensure_schema``.
"""

from __future__ import annotations

from alembic import context

from crpv_pipeline.warehouse.migrate import VERSION_TABLE

_attributes = context.config.attributes
_connection = _attributes.get("connection")
if _connection is None:
    raise RuntimeError(
        "the warehouse migrations run on a connection given by crpv_pipeline.warehouse.migrate"
        " (crpv upgrade), not from the alembic command"
    )
context.configure(
    connection=_connection,
    version_table=VERSION_TABLE,
    target_metadata=None,
    on_version_apply=_attributes.get("on_version_apply"),
)
with context.begin_transaction():  # the caller's transaction: nothing is committed here
    context.run_migrations()
