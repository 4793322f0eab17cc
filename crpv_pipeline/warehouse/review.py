"""Taking a steward's decision on a year's return, with its effects, in one transaction.

Belongs here: whether a decision may be taken on the warehouse as it is (``DecisionRefused``
says why not, in English for the command line), and what it changes, in one write transaction
with the decision and the rebuild of the year's derived tables: a confirmed held return is put
in force (the submission in force is superseded, the centre's activities go with it); an
excluded file's submission becomes ``excluded`` (its activities, if it was in force, are
removed and the return it superseded is put back in force from the ``archive``); accepting a
warning, approving and reopening change only ``completeness.approval``. Stays out: the rows of
``steward_decision`` (``decisions``), how runs honour decisions (``loading``, ``year.load``),
what awaits a decision (``awaiting``), the command line and workbooks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from crpv_pipeline.reference.deadlines import Deadlines
from crpv_pipeline.warehouse.archive import delete_activities, put_back, supersede_activities
from crpv_pipeline.warehouse.decisions import (
    ACCEPT,
    APPROVAL_SUBJECT,
    APPROVE,
    CONFIRM,
    DECISIONS,
    REOPEN,
    RETURN_SUBJECT,
    Decision,
    decisions_in_force,
    finding_key,
    record_decision,
)
from crpv_pipeline.warehouse.derive import derive_in
from crpv_pipeline.warehouse.engine import WarehouseError, failure_reason, write_transaction
from crpv_pipeline.warehouse.holding import HELD
from crpv_pipeline.warehouse.loading import CURRENT_STATUSES
from crpv_pipeline.warehouse.schema import schema_table

EXCLUDED = "excluded"
"""Status of a submission a steward left out of its year."""
MIN_PREFIX = 8
"""Fewest hexadecimal digits of a SHA-256 that name a file on the command line."""


class DecisionRefused(ValueError):
    """A decision that cannot be taken on the warehouse as it is; the message says why."""


@dataclass(frozen=True)
class Taken:
    """A decision recorded: its id and what it changed, said in one English sentence."""

    decision_id: int
    effect: str


def resolve_file(conn: Connection, year: int, sha: str) -> sa.Row:
    """The latest submission of ``year`` whose SHA-256 is ``sha`` or starts with it."""
    sha = sha.strip().lower()
    if len(sha) < MIN_PREFIX or any(c not in "0123456789abcdef" for c in sha):
        raise DecisionRefused(
            f"{sha!r} is no SHA-256: give the file's SHA-256, or its first {MIN_PREFIX} digits"
            " or more (crpv review lists them)"
        )
    submission = schema_table("submission")
    rows = conn.execute(
        sa.select(submission)
        .where(submission.c.year == int(year), submission.c.file_sha256.startswith(sha))
        .order_by(submission.c.submission_id.desc())
    ).all()
    if not rows:
        raise DecisionRefused(f"no file of {year} has the SHA-256 {sha}…")
    if len({r.file_sha256 for r in rows}) > 1:
        raise DecisionRefused(f"several files of {year} have a SHA-256 starting {sha}: give more")
    return rows[0]


def take_decision(
    engine: Engine,
    year: int,
    decision: str,
    sha: str,
    *,
    reason: str,
    decided_by: str,
    finding: str | None = None,
    subject: str | None = None,
    deadlines: Deadlines | None = None,
    decided_at: dt.datetime | None = None,
) -> Taken:
    """Check, record and apply one decision, and rebuild the year's tables: one transaction.

    ``finding`` is the key of the finding accepted (``accept``); ``subject`` what ``reopen``
    reopens (a finding's key, or ``approval``). Raises ``DecisionRefused`` when the warehouse
    does not allow it (nothing is written then).
    """
    year = int(year)
    if decision not in DECISIONS:
        raise DecisionRefused(f"{decision!r}: the decisions are {', '.join(DECISIONS)}")
    if not reason or not reason.strip():
        raise DecisionRefused("a decision needs a reason (--reason)")
    if not decided_by or not decided_by.strip():
        raise DecisionRefused("a decision needs the steward's name (--by)")
    moment = decided_at or dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    try:
        with write_transaction(engine, f"recording a decision on {year}") as conn:
            row = resolve_file(conn, year, sha)
            topic, effect = _check_and_apply(conn, year, decision, row, finding, subject)
            by, why = decided_by.strip(), reason.strip()
            decision_id = _record(conn, row, decision, topic, why, by, moment)
            if decision == REOPEN and topic != APPROVAL_SUBJECT and _approved(conn, year, row):
                # a warning open again: the return is no longer approved either
                why = f"Avertissement {topic} rouvert : {why}"
                _record(conn, row, REOPEN, APPROVAL_SUBJECT, why, by, moment)
                effect += "; its approval is reopened too"
            derive_in(conn, year, deadlines)
            if decision == APPROVE:
                _check_approved(conn, year, row)
    except SQLAlchemyError as err:
        raise WarehouseError(f"recording the decision failed: {failure_reason(err)}") from err
    return Taken(decision_id, effect)


def _record(
    conn: Connection,
    row: sa.Row,
    decision: str,
    subject: str,
    reason: str,
    decided_by: str,
    moment: dt.datetime,
) -> int:
    """Record a decision on the file of submission ``row``; its id."""
    on_file = (row.year, row.centre_code, row.file_sha256, row.submission_id)
    return record_decision(conn, Decision(*on_file, decision, subject, reason, decided_by), moment)


def _approved(conn: Connection, year: int, row: sa.Row) -> bool:
    return any(
        d.file_sha256 == row.file_sha256 and d.subject == APPROVAL_SUBJECT
        for d in decisions_in_force(conn, year)
    )


def _check_and_apply(
    conn: Connection,
    year: int,
    decision: str,
    row: sa.Row,
    finding: str | None,
    subject: str | None,
) -> tuple[str, str]:
    """The decision's subject and effect, after checking it may be taken; applies it."""
    name = f"{row.file_name} ({row.centre_code or 'unidentified centre'})"
    if decision == ACCEPT:
        if not finding:
            raise DecisionRefused("accept: name the finding (--finding KEY, as crpv review lists)")
        if not _has_warning(conn, row.file_sha256, year, finding):
            raise DecisionRefused(f"{name} has no warning {finding!r} to accept")
        return finding, f"warning {finding} of {name} accepted"
    if decision == REOPEN:
        topic = subject or finding or APPROVAL_SUBJECT
        if topic == RETURN_SUBJECT:
            raise DecisionRefused(
                "a confirmed or excluded return is not reopened: the centre's next return"
                " replaces it"
            )
        if not any(
            d.file_sha256 == row.file_sha256 and d.subject == topic
            for d in decisions_in_force(conn, year)
        ):
            raise DecisionRefused(f"no decision in force on {topic!r} of {name}")
        return topic, f"{topic} of {name} reopened"
    if decision == APPROVE:
        return APPROVAL_SUBJECT, f"{name} approved for {year}"
    if decision == CONFIRM:
        return RETURN_SUBJECT, _confirm(conn, row, name)
    return RETURN_SUBJECT, _exclude(conn, row, name)


def _has_warning(conn: Connection, sha: str, year: int, key: str) -> bool:
    failure = schema_table("validation_failure")
    submission = schema_table("submission")
    found = conn.execute(
        sa.select(failure.c.rule, failure.c.sheet, failure.c.cell, failure.c.row_number)
        .select_from(
            failure.join(submission, failure.c.submission_id == submission.c.submission_id)
        )
        .where(
            submission.c.year == year,
            submission.c.file_sha256 == sha,
            failure.c.severity == "warning",
        )
    )
    if any(finding_key(r.rule, r.sheet, r.cell, r.row_number) == key for r in found):
        return True
    plausibility = schema_table("plausibility_finding")
    return bool(
        conn.scalar(
            sa.select(sa.func.count())
            .select_from(plausibility)
            .where(
                plausibility.c.year == year,
                plausibility.c.file_sha256 == sha,
                plausibility.c.finding_key == key,
            )
        )
    )


def _confirm(conn: Connection, row: sa.Row, name: str) -> str:
    submission = schema_table("submission")
    if row.status in CURRENT_STATUSES:
        return f"{name} confirmed: it stays in force"
    if row.status != HELD:
        raise DecisionRefused(f"{name} is {row.status}: only a held or loaded return is confirmed")
    ids = tuple(
        conn.scalars(
            sa.select(submission.c.submission_id).where(
                submission.c.year == row.year,
                submission.c.centre_code == row.centre_code,
                submission.c.status.in_(CURRENT_STATUSES),
            )
        )
    )
    before = conn.execute(
        sa.select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(schema_table("fact_activity").c.half_days), 0),
        ).where(
            schema_table("fact_activity").c.year == row.year,
            schema_table("fact_activity").c.centre_code == row.centre_code,
        )
    ).one()
    conn.execute(
        sa.update(submission).where(submission.c.submission_id.in_(ids)).values(status="superseded")
    )
    supersede_activities(conn, row.year, row.centre_code)
    conn.execute(
        sa.update(submission)
        .where(submission.c.submission_id == row.submission_id)
        .values(
            status="loaded_with_errors" if row.n_errors else "loaded",
            replaces_submission_id=max(ids) if ids else None,
            activities_added=0 if ids else None,
            activities_removed=int(before[0]) if ids else None,
            activities_changed=0 if ids else None,
            half_days_before=int(before[1]) if ids else None,
            half_days_after=0,
        )
    )
    return f"{name} confirmed: put in force, it supersedes submission(s) {list(ids)}"


def _exclude(conn: Connection, row: sa.Row, name: str) -> str:
    submission = schema_table("submission")
    was = row.status
    same_file = (submission.c.year == row.year) & (submission.c.file_sha256 == row.file_sha256)
    statuses = (*CURRENT_STATUSES, HELD, "rejected")
    if was in CURRENT_STATUSES:
        delete_activities(conn, row.year, row.centre_code)
    conn.execute(
        sa.update(submission)
        .where(same_file, submission.c.status.in_(statuses))
        .values(status=EXCLUDED)
    )
    if was in CURRENT_STATUSES and row.replaces_submission_id is not None:
        previous = conn.execute(
            sa.select(submission.c.file_name).where(
                submission.c.submission_id == row.replaces_submission_id
            )
        ).scalar_one()
        restored = put_back(conn, row.replaces_submission_id)
        if restored is not None:
            return (
                f"{name} excluded: the previous return « {previous} » is back in force"
                f" ({restored} activities)"
            )
        return (
            f"{name} excluded: its activities are removed; the previous return « {previous} »"
            " was superseded before its activities were archived: it comes back in force when"
            " a run reads its file again (put it back in the inbox)"
        )
    return f"{name} excluded from {row.year}: runs leave the file out"


def _check_approved(conn: Connection, year: int, row: sa.Row) -> None:
    """After the rebuild: an approval holds only on a reviewed exploitable current return."""
    completeness = schema_table("completeness")
    line = conn.execute(
        sa.select(
            completeness.c.approval, completeness.c.open_findings, completeness.c.submission_id
        ).where(completeness.c.year == year, completeness.c.centre_code == row.centre_code)
    ).first()
    if line is None or line.approval is None:
        raise DecisionRefused(
            f"{row.file_name} is not an exploitable return of {year}: nothing to approve"
        )
    if line.approval != "approved" or line.open_findings:
        current = conn.scalar(
            sa.select(schema_table("submission").c.file_sha256).where(
                schema_table("submission").c.submission_id == line.submission_id
            )
        )
        if current != row.file_sha256:
            raise DecisionRefused(
                f"{row.file_name} is not {row.centre_code}'s return in force for {year}"
            )
        raise DecisionRefused(
            f"{row.centre_code} {year}: {line.open_findings} finding(s) still open; accept them"
            " (or confirm, exclude) before approving"
        )
