"""The BI layer of the warehouse: the statements that create the views of ``sql/bi``.

BI tools read one view per subject, French labels joined in and nothing aggregated:
``bi.<name>`` in the ``bi`` schema on PostgreSQL, ``bi_<name>`` on SQLite (no schemas there),
from the same SELECT file, every file of ``sql/bi`` (``catalogue.BI_VIEWS``: adding a view is
adding its file). This module only builds statements (``schema.ensure_schema`` runs
them, in the schema's transaction); the views and their descriptions are parsed by
``dictionary``. The read-only role for BI tools is ``sql/postgres/bi_readonly_role.sql``.
"""

from __future__ import annotations

from collections.abc import Collection

from crpv_pipeline.warehouse.catalogue import BI_VIEWS
from crpv_pipeline.warehouse.dictionary import BI_SCHEMA, bi_view_name, sql_literal, view_doc

__all__ = ["view_statements"]


def view_statements(dialect: str, unchanged: Collection[str] = ()) -> list[str]:
    """The statements that (re)create every BI view on ``dialect``, in one transaction.

    PostgreSQL: the ``bi`` schema, ``CREATE OR REPLACE VIEW`` (grants given to BI roles stay;
    PostgreSQL only lets a replaced view gain columns at the end: drop a view by hand before
    renaming or removing its columns) and the ``COMMENT ON`` of every view and column. Views
    named in ``unchanged`` already have their definition and are only commented: replacing a
    view waits for every query reading it. Other dialects: ``DROP VIEW IF EXISTS`` then
    ``CREATE VIEW``.
    """
    statements = [f"CREATE SCHEMA IF NOT EXISTS {BI_SCHEMA}"] if dialect == "postgresql" else []
    for view in map(view_doc, BI_VIEWS):
        name = bi_view_name(view.name, dialect)
        if dialect == "postgresql":
            if view.name not in unchanged:
                statements.append(f"CREATE OR REPLACE VIEW {name} AS\n{view.select}")
            statements.append(f"COMMENT ON VIEW {name} IS {sql_literal(view.description)}")
            statements += [
                f"COMMENT ON COLUMN {name}.{c.name} IS {sql_literal(c.description)}"
                for c in view.columns
            ]
        else:
            statements += [f"DROP VIEW IF EXISTS {name}", f"CREATE VIEW {name} AS\n{view.select}"]
    return statements
