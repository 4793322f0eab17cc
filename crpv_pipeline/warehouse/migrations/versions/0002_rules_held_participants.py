"""Revision 0002: rules, held and empty returns, source sheets, participants that may be unknown.

What changed in ``sql/schema`` between release 1 (8ab0cd4) and this round:

- ``dim_rule``: the validation rules with their French labels (new table).
- ``submission.status`` may be ``held``; ``completeness.status`` may be ``empty``, and
  ``completeness.held_submission_id`` names the latest held return.
- ``fact_activity.source_sheet``, ``load_run.submissions_held`` (added, nullable).
- ``participants`` of ``activity_counts``, ``yearly_summary`` and ``yearly_trend`` may be NULL
  (unknown, not zero), with the counts of what it covers beside it.

Rows are kept: columns are added nullable, checks only widened, NOT NULL only relaxed. SQLite
cannot alter a column nor a CHECK constraint: ``batch_alter_table`` rebuilds those tables and
copies their rows (``migrate`` runs it with foreign keys checked at the end).

Before versioning, the pipeline brought warehouses to the DDL of the day with ad-hoc upgrades,
so a warehouse may hold part of this revision already: each step is done only when it is
missing. ``applied`` says whether the whole revision is there (``migrate`` then stamps the
warehouse at this revision). Later revisions need no such guards.
"""

# ruff: noqa: E501  (the DDL is copied as this revision's sql/schema wrote it)

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.engine import Connection

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

DIM_RULE = """\
-- Validation rules of contract §4, with their French labels: one row per rule.
create table dim_rule (
    rule text not null primary key, -- Stable id of the rule, as in validation_failure.rule (for example half_days_out_of_range)
    label text not null, -- Label shown to people, in French (for example Demi-journées hors limites)
    level text not null, -- Where the rule applies: file (rejects the file) or row (quarantines or flags the row)
    severity text not null, -- error or warning
    sort_order integer not null -- Position in the reference list, for display
)
"""

STATUS_CHECKS = {
    "submission": "status in ('loaded', 'loaded_with_errors', 'rejected', 'superseded', 'held')",
    "completeness": "status in ('missing', 'rejected', 'empty', 'loaded_with_errors', 'loaded')",
}
"""The widened ``status`` checks; the new value of each is the one ``_widened`` looks for."""

NEW_STATUS = {"submission": "'held'", "completeness": "'empty'"}

ADDED = (
    ("fact_activity", "source_sheet", sa.Text),
    ("load_run", "submissions_held", sa.Integer),
    ("activity_counts", "n_activities_with_participants", sa.Integer),
    ("yearly_summary", "centres_with_participants", sa.Integer),
    ("yearly_summary", "n_activities_with_participants", sa.Integer),
    ("yearly_trend", "centres_compared", sa.Integer),
    ("yearly_trend", "participants_centres_compared", sa.Integer),
)
"""Nullable columns added at the end of their table: ``(table, column, type)``."""

RELAXED = ("activity_counts", "yearly_summary", "yearly_trend")
"""Tables whose ``participants`` may now be NULL."""


def _columns(conn: Connection, table: str) -> dict[str, dict]:
    return {c["name"]: c for c in sa.inspect(conn).get_columns(table)}


def _widened(conn: Connection, table: str) -> bool:
    checks = sa.inspect(conn).get_check_constraints(table)
    return any(NEW_STATUS[table] in (c.get("sqltext") or "") for c in checks)


def _steps(conn: Connection) -> dict[str, bool]:
    """Each step of this revision → whether the warehouse already has it."""
    tables = set(sa.inspect(conn).get_table_names())
    done = {"dim_rule": "dim_rule" in tables}
    for table, column, _type in ADDED:
        done[f"{table}.{column}"] = column in _columns(conn, table)
    for table in RELAXED:
        done[f"{table}.participants nullable"] = _columns(conn, table)["participants"]["nullable"]
    for table in STATUS_CHECKS:
        done[f"{table}.status check"] = _widened(conn, table)
    done["completeness.held_submission_id"] = "held_submission_id" in _columns(conn, "completeness")
    return done


def applied(conn: Connection) -> bool:
    """Whether a warehouse made before versioning already has every change of this revision."""
    return all(_steps(conn).values())


def upgrade() -> None:
    conn = op.get_bind()
    done = _steps(conn)
    if not done["dim_rule"]:
        conn.exec_driver_sql(DIM_RULE, execution_options={"no_parameters": True})
    for table, column, type_ in ADDED:
        if not done[f"{table}.{column}"]:
            op.add_column(table, sa.Column(column, type_(), nullable=True))
    for table in RELAXED:
        if not done[f"{table}.participants nullable"]:
            with op.batch_alter_table(table) as batch:
                batch.alter_column("participants", existing_type=sa.Integer(), nullable=True)
    if not done["completeness.held_submission_id"]:
        # A nullable column with its reference: SQLite adds both in place; PostgreSQL names the
        # reference completeness_held_submission_id_fkey, as when the DDL creates it.
        conn.exec_driver_sql(
            "ALTER TABLE completeness ADD COLUMN held_submission_id integer"
            " REFERENCES submission (submission_id)"
        )
    for table, check in STATUS_CHECKS.items():
        if not done[f"{table}.status check"]:
            _widen_status_check(conn, table, check)


def _widen_status_check(conn: Connection, table: str, check: str) -> None:
    """Replace the ``status`` check of ``table`` by ``check``, which allows one value more.

    PostgreSQL names a column's check ``<table>_status_check``: dropped and added again. SQLite:
    the table is rebuilt with the new check (``table_args``; its unnamed old one is left out).
    """
    if conn.dialect.name == "postgresql":
        op.drop_constraint(f"{table}_status_check", table, type_="check")
        op.create_check_constraint(f"{table}_status_check", table, check)
    else:
        with op.batch_alter_table(
            table, recreate="always", table_args=(sa.CheckConstraint(check),)
        ) as batch:
            batch.alter_column("status", existing_type=sa.Text(), nullable=False)


def downgrade() -> None:
    raise NotImplementedError("the warehouse is upgraded, never downgraded")
