"""Stewards' decisions as rows of ``steward_decision``: recorded, superseded, never deleted.

Belongs here: the vocabulary of decisions (``accept`` a warning, ``confirm`` a held or shrinking
return, ``exclude`` a file from the year, ``approve`` a centre's return, ``reopen`` what was
decided), the key that names a finding across re-readings of the same bytes (``finding_key``),
recording a decision (the one in force on the same file and subject is superseded, in the
caller's transaction) and reading the decisions in force. A decision is about one file, known by
its SHA-256: a new file of the centre needs a new decision. Stays out: whether a decision may be
taken and what it changes in the warehouse (``review``), how a load honours it (``loading``),
the command line (``cli_review``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from crpv_pipeline.warehouse.rows import next_id
from crpv_pipeline.warehouse.schema import schema_table

ACCEPT, CONFIRM, EXCLUDE, APPROVE, REOPEN = "accept", "confirm", "exclude", "approve", "reopen"
DECISIONS = (ACCEPT, CONFIRM, EXCLUDE, APPROVE, REOPEN)
"""Every decision a steward can take (``steward_decision.decision``)."""
RETURN_SUBJECT = "return"
"""Subject of ``confirm`` and ``exclude``: which return of the centre is in force."""
APPROVAL_SUBJECT = "approval"
"""Subject of ``approve``: the centre's return for the year."""
DECISION_LABELS = {
    ACCEPT: "Accepter",
    CONFIRM: "Confirmer",
    EXCLUDE: "Écarter",
    APPROVE: "Approuver",
    REOPEN: "Rouvrir",
}
"""The decisions as stewards read and choose them, in French (the overview's drop-down)."""


@dataclass(frozen=True)
class Decision:
    """One decision to record: which file, about what, why, by whom."""

    year: int
    centre_code: str | None
    file_sha256: str
    submission_id: int | None
    decision: str
    subject: str
    reason: str
    decided_by: str


def finding_key(rule: str, sheet: str | None, cell: str | None, row_number: int | None) -> str:
    """The name of a finding that stays the same whenever the same bytes are read again.

    ``weekend_date@Activités!A12`` (a cell), ``duplicate_activity@Activités:12`` (a row),
    ``extra_columns@Activités`` (a sheet) or ``activities_dropped`` (the whole file). The SQL of
    ``sql/derived/completeness.sql`` composes the same key.
    """
    if sheet is None:
        return rule
    if cell:
        return f"{rule}@{sheet}!{cell}"
    if row_number is not None:
        return f"{rule}@{sheet}:{int(row_number)}"
    return f"{rule}@{sheet}"


def record_decision(conn: Connection, decision: Decision, decided_at: dt.datetime) -> int:
    """Insert ``decision`` and supersede the one in force on its file and subject; its id.

    Runs in the caller's transaction (which holds the write lock): nothing is ever deleted.
    """
    table = schema_table("steward_decision")
    decision_id = next_id(conn, table.c.decision_id)
    conn.execute(
        sa.insert(table),
        [
            {
                "decision_id": decision_id,
                "year": decision.year,
                "centre_code": decision.centre_code,
                "file_sha256": decision.file_sha256,
                "submission_id": decision.submission_id,
                "decision": decision.decision,
                "subject": decision.subject,
                "reason": decision.reason,
                "decided_by": decision.decided_by,
                "decided_at": decided_at,
                "superseded_by": None,
            }
        ],
    )
    conn.execute(
        sa.update(table)
        .where(
            table.c.year == decision.year,
            table.c.file_sha256 == decision.file_sha256,
            table.c.subject == decision.subject,
            table.c.superseded_by.is_(None),
            table.c.decision_id != decision_id,
        )
        .values(superseded_by=decision_id)
    )
    return decision_id


def _in_force(year: int) -> list[sa.ColumnElement[bool]]:
    table = schema_table("steward_decision")
    return [
        table.c.year == int(year),
        table.c.superseded_by.is_(None),
        table.c.decision != REOPEN,
    ]


def decisions_in_force(conn: Connection, year: int) -> list[sa.Row]:
    """The decisions of ``year`` in force (neither superseded nor reopened), oldest first."""
    table = schema_table("steward_decision")
    return list(
        conn.execute(sa.select(table).where(*_in_force(year)).order_by(table.c.decision_id))
    )


def has_decisions_table(conn: Connection) -> bool:
    """Whether the warehouse has ``steward_decision`` (an earlier version's may not)."""
    return sa.inspect(conn).has_table("steward_decision")


def last_decided_at(engine: Engine, year: int) -> dt.datetime | None:
    """When the latest decision about ``year`` was recorded, whatever became of it (None: none)."""
    with engine.connect() as conn:
        if not has_decisions_table(conn):
            return None
        table = schema_table("steward_decision")
        return conn.scalar(sa.select(sa.func.max(table.c.decided_at)).where(table.c.year == year))


def last_decision_id(engine: Engine, year: int) -> int:
    """The id of the latest decision about ``year`` (0: none yet): the state a workbook shows."""
    with engine.connect() as conn:
        if not has_decisions_table(conn):
            return 0
        table = schema_table("steward_decision")
        latest = conn.scalar(
            sa.select(sa.func.max(table.c.decision_id)).where(table.c.year == year)
        )
        return int(latest or 0)


def decided_since(engine: Engine, year: int, after: int) -> dict[tuple[str, str], sa.Row]:
    """(SHA-256, subject) → the latest decision of ``year`` on it whose id is above ``after``."""
    table = schema_table("steward_decision")
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(table)
            .where(table.c.year == int(year), table.c.decision_id > int(after))
            .order_by(table.c.decision_id)
        ).all()
    return {(r.file_sha256, r.subject): r for r in rows}


def is_confirmed(conn: Connection, year: int | None, file_sha256: str) -> bool:
    """Whether a steward confirmed the return of these bytes: it is put in force, never held."""
    if year is None or not has_decisions_table(conn):
        return False
    table = schema_table("steward_decision")
    return bool(
        conn.scalar(
            sa.select(sa.func.count())
            .select_from(table)
            .where(
                *_in_force(year),
                table.c.file_sha256 == file_sha256,
                table.c.decision == CONFIRM,
            )
        )
    )


def excluded_files(conn: Connection, year: int) -> set[str]:
    """SHA-256 of the files a steward excluded from ``year``: runs leave them out."""
    if not has_decisions_table(conn):
        return set()
    table = schema_table("steward_decision")
    return set(
        conn.scalars(
            sa.select(table.c.file_sha256).where(*_in_force(year), table.c.decision == EXCLUDE)
        )
    )


def accepted_findings(conn: Connection, year: int) -> set[tuple[str, str]]:
    """(SHA-256, finding key) of every warning accepted for ``year``."""
    if not has_decisions_table(conn):
        return set()
    table = schema_table("steward_decision")
    rows = conn.execute(
        sa.select(table.c.file_sha256, table.c.subject).where(
            *_in_force(year), table.c.decision == ACCEPT
        )
    )
    return {(r.file_sha256, r.subject) for r in rows}


def read_accepted_findings(engine: Engine, year: int) -> set[tuple[str, str]]:
    """``accepted_findings`` on a connection of its own."""
    with engine.connect() as conn:
        return accepted_findings(conn, year)


def decision_history(engine: Engine, year: int) -> pd.DataFrame:
    """Every decision of ``year``, superseded ones included, in the order they were taken."""
    table = schema_table("steward_decision")
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(table).where(table.c.year == int(year)).order_by(table.c.decision_id)
        ).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=list(table.c.keys()), dtype=object)
