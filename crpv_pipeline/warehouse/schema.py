"""The warehouse schema at the start of every run: upgraded, described, dimensions, BI views.

Belongs here: bringing a warehouse to the newest schema revision (``migrate`` runs the
revisions of ``migrations``) in one write transaction, the table comments, the dimension rows
of the reference lists, running the BI views' statements (built by ``bi``), the typed Core
tables of the DDL. Stays out: the DDL of each revision (``migrations/versions``), table
descriptions (the comments of ``sql/schema``, parsed by ``dictionary``), loading returns
(``loading``).
"""

from __future__ import annotations

from functools import cache

import sqlalchemy as sa
from alembic.util.exc import CommandError
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from crpv_pipeline.reference.refdata import Nomenclature, default_nomenclature
from crpv_pipeline.warehouse.bi import view_statements
from crpv_pipeline.warehouse.catalogue import DIMENSIONS
from crpv_pipeline.warehouse.dictionary import (
    SCHEMA_TABLES,
    bi_view_name,
    comment_statements,
    table_doc,
    view_docs,
)
from crpv_pipeline.warehouse.engine import WarehouseError, failure_reason, write_transaction
from crpv_pipeline.warehouse.migrate import SchemaUpgrade, apply_upgrade, plan_upgrade

_NO_PARAMS = {"no_parameters": True}  # run DDL text as is: no ':name' or '%' parsing

_SQL_TYPES = {
    "TEXT": sa.Text,
    "INTEGER": sa.Integer,
    "BIGINT": sa.BigInteger,
    "DATE": sa.Date,
    "TIMESTAMP": sa.DateTime,
    "DOUBLE PRECISION": sa.Double,
    "BOOLEAN": sa.Boolean,
}


@cache
def _metadata() -> sa.MetaData:
    """Core ``Table`` objects built from the parsed DDL (used for typed inserts and reads)."""
    metadata = sa.MetaData()
    for name in SCHEMA_TABLES:
        doc = table_doc(name)
        sa.Table(
            name,
            metadata,
            *(
                sa.Column(
                    c.name,
                    _SQL_TYPES[c.sql_type](),
                    primary_key=c.primary_key,
                    nullable=c.nullable,
                    autoincrement=False,
                )
                for c in doc.columns
            ),
        )
    return metadata


def schema_table(name: str) -> sa.Table:
    """The Core ``Table`` of a warehouse table, typed from its DDL (``SCHEMA_TABLES`` only)."""
    if name not in SCHEMA_TABLES:
        raise WarehouseError(f"{name!r} is not a warehouse table ({', '.join(SCHEMA_TABLES)})")
    return _metadata().tables[name]


def ensure_schema(engine: Engine, nomenclature: Nomenclature | None = None) -> None:
    """Upgrade the warehouse schema to the newest revision, then the dimensions and BI views.

    What a run does first (``upgrade_warehouse``, whose errors it raises).
    """
    upgrade_warehouse(engine, nomenclature)


def upgrade_warehouse(
    engine: Engine, nomenclature: Nomenclature | None = None, *, dry_run: bool = False
) -> SchemaUpgrade:
    """Apply the pending schema revisions (``migrate``), describe, upsert the dimensions, views.

    One write transaction, holding the write lock: a second process upgrading at the same time
    waits, then finds nothing left to do; a revision that fails leaves the warehouse at the
    revision it was at, with nothing changed. An empty warehouse is created from ``sql/schema``
    and stamped at the newest revision (which the revisions give too: ``test_migrations``); one
    made before versioning is recognised and stamped first. The BI views of ``sql/bi`` are
    recreated every time (``bi.<name>`` on PostgreSQL, where descriptions are comments,
    ``bi_<name>`` on SQLite). Dimension rows are inserted or updated from the nomenclature (the
    packaged one by default), never deleted: facts refer to them. ``dry_run``: say what would
    be applied, change nothing. ``migrate.SchemaTooNew`` when the warehouse is newer than this
    code, ``WarehouseError`` for any other failure.
    """
    if nomenclature is None:
        nomenclature = default_nomenclature()
    step = "reading its revision"
    try:
        with engine.connect() as conn:  # outside the lock: will tables be rebuilt (SQLite)?
            pending = plan_upgrade(conn)
        if dry_run:
            return pending
        with write_transaction(
            engine, "upgrading the warehouse schema", rebuilding_tables=bool(pending.applied)
        ) as conn:
            # Planned again under the lock: another process may have upgraded it meanwhile.
            upgrade = plan_upgrade(conn)
            if upgrade.applied and conn.dialect.name == "sqlite":
                step = "dropping the BI views (SQLite rebuilds the tables they read)"
                for view in view_docs():
                    name = bi_view_name(view.name, "sqlite")
                    conn.exec_driver_sql(
                        f"DROP VIEW IF EXISTS {name}", execution_options=_NO_PARAMS
                    )
            step = "applying the schema revisions"
            upgrade = apply_upgrade(conn, upgrade)
            if conn.dialect.name == "postgresql":
                step = "commenting the tables"
                for statement in comment_statements():
                    conn.exec_driver_sql(statement, execution_options=_NO_PARAMS)
            for name, rows in _dimension_rows(nomenclature).items():
                step = f"updating {name}"
                conn.execute(_upsert_statement(name), rows)
            step = "creating the BI views"
            for statement in view_statements(conn.dialect.name, _unchanged_views(conn)):
                conn.exec_driver_sql(statement, execution_options=_NO_PARAMS)
    except WarehouseError:
        raise
    except (SQLAlchemyError, OSError, CommandError) as err:
        reason = failure_reason(_first_failure(err))
        raise WarehouseError(f"warehouse schema: {step} failed: {reason}") from err
    return upgrade


def _first_failure(err: BaseException) -> BaseException:
    """The first database error of those ``err`` was raised while handling, else ``err``.

    After a statement fails, PostgreSQL refuses every other one of the transaction ("current
    transaction is aborted"): a revision cleaning up after its failure would hide the cause.
    """
    first, earlier = err, err.__context__
    while earlier is not None:
        if isinstance(earlier, SQLAlchemyError):
            first = earlier
        earlier = earlier.__context__
    return first


def _unchanged_views(conn: Connection) -> set[str]:
    """The BI views that PostgreSQL already holds with the definition they would get.

    Replacing a view takes a lock that waits for every transaction reading it, so a BI tool
    holding a long read would stall the run (and every reader queued behind it). PostgreSQL
    stores a view's definition normalised: each view's SELECT is compared, normalised the same
    way through a temporary view, with the stored one. Other dialects: none.
    """
    if conn.dialect.name != "postgresql":
        return set()
    definition = sa.text("SELECT pg_get_viewdef(to_regclass(:name))")
    unchanged = set()
    for view in view_docs():
        current = conn.scalar(definition, {"name": bi_view_name(view.name, "postgresql")})
        if current is None:
            continue
        try:
            with conn.begin_nested():  # a SELECT reading what is not there yet: replace it
                conn.exec_driver_sql(
                    f"CREATE TEMPORARY VIEW crpv_candidate_view AS\n{view.select}",
                    execution_options=_NO_PARAMS,
                )
                candidate = conn.scalar(definition, {"name": "crpv_candidate_view"})
                conn.exec_driver_sql("DROP VIEW crpv_candidate_view", execution_options=_NO_PARAMS)
        except SQLAlchemyError:
            continue
        if candidate == current:
            unchanged.add(view.name)
    return unchanged


def _year(text: str | None) -> int | None:
    return int(text) if text and text.strip() else None


def _dimension_rows(nomenclature: Nomenclature) -> dict[str, list[dict]]:
    themes = nomenclature.themes
    pillars = list(dict.fromkeys(t.attrs.get("pillar", "") for t in themes))
    return {
        "dim_centre": [
            {
                "centre_code": e.code,
                "name": e.label,
                "region": e.attrs.get("region", ""),
                "active_from": _year(e.attrs.get("active_from")),
                "active_to": _year(e.attrs.get("active_to")),
                "sort_order": i,
            }
            for i, e in enumerate(nomenclature.centres, 1)
        ],
        "dim_activity_type": [
            {"activity_type_code": e.code, "label": e.label, "sort_order": i}
            for i, e in enumerate(nomenclature.activity_types, 1)
        ],
        "dim_modality": [
            {"modality_code": e.code, "label": e.label, "sort_order": i}
            for i, e in enumerate(nomenclature.modalities, 1)
        ],
        "dim_public": [
            {"public_code": e.code, "label": e.label, "sort_order": i}
            for i, e in enumerate(nomenclature.publics, 1)
        ],
        "dim_theme": [
            {
                "theme_code": e.code,
                "label": e.label,
                "pillar": e.attrs.get("pillar", ""),
                "pillar_order": pillars.index(e.attrs.get("pillar", "")) + 1,
                "sort_order": i,
            }
            for i, e in enumerate(themes, 1)
        ],
        "dim_rule": [
            {
                "rule": r.rule,
                "label": r.label,
                "level": r.level,
                "severity": r.severity,
                "sort_order": i,
            }
            for i, r in enumerate(nomenclature.rules.values(), 1)
        ],
    }


@cache
def _upsert_statement(name: str) -> sa.TextClause:
    """Portable upsert (SQLite >= 3.24, PostgreSQL): identifiers from the DDL, values bound."""
    if name not in DIMENSIONS:
        raise WarehouseError(f"{name!r} is not a dimension table")
    doc = table_doc(name)
    (key,) = doc.primary_key
    columns = doc.column_names
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != key)
    return sa.text(
        f"INSERT INTO {name} ({', '.join(columns)})"
        f" VALUES ({', '.join(':' + c for c in columns)})"
        f" ON CONFLICT ({key}) DO UPDATE SET {updates}"
    )
