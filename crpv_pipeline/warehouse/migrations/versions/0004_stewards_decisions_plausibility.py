"""Revision 0004: stewards' decisions, plausibility warnings, approval of each centre's return.

What changed in ``sql/schema``:

- ``steward_decision``: every decision a steward took (accept, confirm, exclude, approve,
  reopen), by file SHA-256, who, when, why; never deleted, superseded (new table, with its index
  ``index_steward_decision_year_file``).
- ``plausibility_finding``: the plausibility warnings of each year (new table, derived: filled
  when a year's tables are rebuilt).
- ``submission.status`` may be ``excluded`` (a file a steward left out of its year).
- ``completeness.approval`` (received, reviewed, approved) and ``completeness.open_findings``
  (added at its end, nullable; filled when a year's tables are rebuilt).

Rows are kept: tables created, columns added nullable, the check only widened. A warehouse
created from ``sql/schema`` before this revision existed (by the branch that wrote it) may hold
part of it already: each step is done only when it is missing.
"""

# ruff: noqa: E501  (the DDL is copied as this revision's sql/schema wrote it)

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.engine import Connection

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

STEWARD_DECISION = """\
create table if not exists steward_decision (
    decision_id integer not null primary key,
    year integer not null,
    centre_code text references dim_centre (centre_code),
    file_sha256 text not null,
    submission_id integer references submission (submission_id),
    decision text not null check (decision in ('accept', 'confirm', 'exclude', 'approve', 'reopen')),
    subject text not null,
    reason text not null,
    decided_by text not null,
    decided_at timestamp not null,
    superseded_by integer references steward_decision (decision_id)
)
"""

STEWARD_DECISION_INDEX = (
    "create index if not exists index_steward_decision_year_file"
    " on steward_decision (year, file_sha256)"
)

PLAUSIBILITY_FINDING = """\
create table if not exists plausibility_finding (
    year integer not null,
    centre_code text not null references dim_centre (centre_code),
    rule text not null,
    subject text not null,
    submission_id integer references submission (submission_id),
    file_sha256 text,
    finding_key text not null,
    value double precision,
    reference double precision,
    threshold double precision not null,
    message text not null,
    primary key (year, centre_code, rule, subject)
)
"""

SUBMISSION_CHECK = (
    "status in ('loaded', 'loaded_with_errors', 'rejected', 'superseded', 'held', 'excluded')"
)
APPROVAL = (
    "ALTER TABLE completeness ADD COLUMN approval text"
    " check (approval in ('received', 'reviewed', 'approved'))"
)
OPEN_FINDINGS = "ALTER TABLE completeness ADD COLUMN open_findings integer"
_NO_PARAMS = {"no_parameters": True}


def _columns(conn: Connection, table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(conn).get_columns(table)}


def _excluded_allowed(conn: Connection) -> bool:
    checks = sa.inspect(conn).get_check_constraints("submission")
    return any("'excluded'" in (c.get("sqltext") or "") for c in checks)


def upgrade() -> None:
    conn = op.get_bind()
    conn.exec_driver_sql(STEWARD_DECISION, execution_options=_NO_PARAMS)
    conn.exec_driver_sql(STEWARD_DECISION_INDEX, execution_options=_NO_PARAMS)
    conn.exec_driver_sql(PLAUSIBILITY_FINDING, execution_options=_NO_PARAMS)
    present = _columns(conn, "completeness")
    if "approval" not in present:
        conn.exec_driver_sql(APPROVAL, execution_options=_NO_PARAMS)
    if "open_findings" not in present:
        conn.exec_driver_sql(OPEN_FINDINGS, execution_options=_NO_PARAMS)
    if not _excluded_allowed(conn):
        if conn.dialect.name == "postgresql":
            op.drop_constraint("submission_status_check", "submission", type_="check")
            op.create_check_constraint("submission_status_check", "submission", SUBMISSION_CHECK)
        else:
            with op.batch_alter_table(
                "submission", recreate="always", table_args=(sa.CheckConstraint(SUBMISSION_CHECK),)
            ) as batch:
                batch.alter_column("status", existing_type=sa.Text(), nullable=False)


def downgrade() -> None:
    raise NotImplementedError("the warehouse is upgraded, never downgraded")
