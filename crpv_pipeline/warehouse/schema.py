"""The warehouse schema: the DDL of ``sql/schema``, its upgrades, the dimensions and the BI views.

Belongs here: creating or upgrading the tables an earlier version created, the dimension rows
of the reference lists, running the BI views' statements (built by ``bi``). Stays out: table
descriptions (the DDL comments, parsed by ``dictionary``), loading returns (``loading``).
"""

from __future__ import annotations

import re
from functools import cache

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from crpv_pipeline.reference.refdata import Nomenclature, default_nomenclature
from crpv_pipeline.warehouse.bi import view_statements
from crpv_pipeline.warehouse.catalogue import DIMENSIONS
from crpv_pipeline.warehouse.dictionary import (
    DERIVED_TABLES,
    SCHEMA_TABLES,
    bi_view_name,
    comment_statements,
    index_names,
    schema_sql,
    table_doc,
    view_docs,
)
from crpv_pipeline.warehouse.engine import WarehouseError, failure_reason, write_transaction
from crpv_pipeline.warehouse.schema_checks import widen_checks
from crpv_pipeline.warehouse.schema_upgrade import SchemaUpgradeError, relax_not_null

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
    """Create missing tables, indexes and BI views, describe them and upsert the dimensions.

    The BI views of ``sql/bi`` are recreated every time (``bi.<name>`` on PostgreSQL, where
    descriptions are comments, ``bi_<name>`` on SQLite). Idempotent and in one write
    transaction. Dimension rows are inserted or updated from the nomenclature (the packaged one
    by default), never deleted: facts refer to them. A column that an earlier version declared
    NOT NULL and the DDL now lets be NULL is relaxed (``schema_upgrade``).
    """
    if nomenclature is None:
        nomenclature = default_nomenclature()
    step = "reading sql/schema"
    try:
        statements = [(name, schema_sql(name)) for name in SCHEMA_TABLES + index_names()]
        with write_transaction(engine, "updating the warehouse schema") as conn:
            for name, ddl in statements:
                step = f"creating {name}"
                conn.exec_driver_sql(ddl, execution_options=_NO_PARAMS)
            step = "dropping the indexes of earlier versions"
            _drop_stale_indexes(conn)
            step = "adding the columns of this version"
            _add_missing_columns(conn)
            step = "widening the checks of earlier versions"
            widen_checks(conn, SCHEMA_TABLES)
            if conn.dialect.name == "postgresql":
                step = "commenting the tables"
                for statement in comment_statements():
                    conn.exec_driver_sql(statement, execution_options=_NO_PARAMS)
            for name, rows in _dimension_rows(nomenclature).items():
                step = f"updating {name}"
                conn.execute(_upsert_statement(name), rows)
            step = "letting the columns of this version hold NULL"  # after the dimensions:
            if conn.dialect.name != "postgresql":  # rebuilt rows refer to them; views read them
                for view in view_docs():
                    conn.exec_driver_sql(
                        f"DROP VIEW IF EXISTS {bi_view_name(view.name, conn.dialect.name)}",
                        execution_options=_NO_PARAMS,
                    )
            relax_not_null(conn, SCHEMA_TABLES, DERIVED_TABLES)
            step = "creating the BI views"
            for statement in view_statements(conn.dialect.name, _unchanged_views(conn)):
                conn.exec_driver_sql(statement, execution_options=_NO_PARAMS)
    except SchemaUpgradeError as err:
        raise WarehouseError(f"warehouse schema: {step} failed: {err}") from err
    except (SQLAlchemyError, OSError) as err:
        raise WarehouseError(f"warehouse schema: {step} failed: {failure_reason(err)}") from err


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


_OWN_INDEX = re.compile(r"index_[a-z0-9_]+")
"""Names of the indexes this project creates (``sql/schema/index_*.sql``)."""


def _drop_stale_indexes(conn: Connection) -> None:
    """Drop the indexes an earlier version created (``index_*``) that this one no longer does.

    A widened index has a new name: its old, narrower one would only slow the loads.
    """
    inspector = sa.inspect(conn)
    current = set(index_names())
    for table in SCHEMA_TABLES:
        for index in inspector.get_indexes(table):
            name = index.get("name") or ""
            if _OWN_INDEX.fullmatch(name) and name not in current:  # checked: safe to compose
                conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}", execution_options=_NO_PARAMS)


def _add_missing_columns(conn: Connection) -> None:
    """Add to tables created by an earlier version the nullable columns they lack.

    Identifiers come from the parsed DDL (``[a-z_][a-z0-9_]*`` only). A missing NOT NULL column
    cannot be added to existing rows: that is an error naming it.
    """
    inspector = sa.inspect(conn)
    for name in SCHEMA_TABLES:
        present = {c["name"] for c in inspector.get_columns(name)}
        for column in table_doc(name).columns:
            if column.name in present:
                continue
            if not column.nullable:
                raise WarehouseError(
                    f"warehouse schema: {name}.{column.name} (NOT NULL) is missing from a table"
                    " created by an earlier version; rebuild the warehouse"
                )
            conn.exec_driver_sql(
                f"ALTER TABLE {name} ADD COLUMN {column.name} {column.sql_type}",
                execution_options=_NO_PARAMS,
            )


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

