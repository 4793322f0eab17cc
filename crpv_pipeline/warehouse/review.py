"""The stewards' review of a year: what awaits a decision, and taking one with its effects.

Belongs here: which findings and returns await a steward (``pending``), whether a decision may be
taken on the warehouse as it is (``DecisionRefused`` says why not, in English for the command
line), and what it changes, in one write transaction with the decision and the rebuild of the
year's derived tables: a confirmed held return is put in force (the submission in force is
superseded, the centre's activities go with it); an excluded file's submission becomes
``excluded`` (its activities, if it was in force, are removed: the previous return comes back
in force when a run reads its file again); accepting a warning, approving and reopening change
only ``completeness.approval``. Stays out: the rows of ``steward_decision`` (``decisions``), how
runs honour decisions (``loading``, ``year.load``), the command line and workbooks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from crpv_pipeline.reference.deadlines import Deadlines
from crpv_pipeline.warehouse.decisions import (
    ACCEPT,
    APPROVAL_SUBJECT,
    APPROVE,
    CONFIRM,
    DECISIONS,
    EXCLUDE,
    REOPEN,
    RETURN_SUBJECT,
    Decision,
    accepted_findings,
    decisions_in_force,
    finding_key,
    record_decision,
)
from crpv_pipeline.warehouse.derive import derive_in
from crpv_pipeline.warehouse.engine import WarehouseError, failure_reason, write_transaction
from crpv_pipeline.warehouse.holding import HELD, HOLDING_RULES
from crpv_pipeline.warehouse.loading import CURRENT_STATUSES, delete_activities
from crpv_pipeline.warehouse.schema import schema_table

EXCLUDED = "excluded"
"""Status of a submission a steward left out of its year."""
DROPPED_RULE = "activities_dropped"
STRAY_RULE = "duplicate_file"
MIN_PREFIX = 8
"""Fewest hexadecimal digits of a SHA-256 that name a file on the command line."""


class DecisionRefused(ValueError):
    """A decision that cannot be taken on the warehouse as it is; the message says why."""


@dataclass(frozen=True)
class Pending:
    """One thing awaiting a steward's decision for a year.

    ``kind``: ``finding`` (a warning to accept), ``held`` (a return held back: confirm or
    exclude), ``dropped`` (a return that dropped activities: confirm or exclude), ``stray`` (a
    file rejected as a second file of its centre: exclude) or ``approval`` (an exploitable
    return: approve once nothing else is open). ``subject`` is what a decision names.
    """

    centre_code: str | None
    file_name: str
    file_sha256: str
    submission_id: int
    kind: str
    subject: str
    choices: tuple[str, ...]
    rule: str | None = None
    severity: str | None = None
    location: str | None = None
    value: str | None = None
    message: str | None = None
    approval: str | None = None


@dataclass(frozen=True)
class Taken:
    """A decision recorded: its id and what it changed, said in one English sentence."""

    decision_id: int
    effect: str


def _table(conn: Connection, name: str, year: int) -> pd.DataFrame:
    table = schema_table(name)
    rows = conn.execute(sa.select(table).where(table.c.year == int(year))).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=list(table.c.keys()), dtype=object)


def pending(engine: Engine, year: int) -> list[Pending]:
    """Everything of ``year`` awaiting a decision, centre by centre (see ``Pending``)."""
    with engine.connect() as conn:
        return pending_in(conn, year)


def pending_in(conn: Connection, year: int) -> list[Pending]:
    """``pending`` on an open connection."""
    completeness = _table(conn, "completeness", year)
    submissions = _table(conn, "submission", year).set_index("submission_id", drop=False)
    findings = _table(conn, "validation_failure", year)
    accepted = accepted_findings(conn, year)
    in_force = decisions_in_force(conn, year)
    confirmed = {d.file_sha256 for d in in_force if d.decision == CONFIRM}
    excluded = {d.file_sha256 for d in in_force if d.decision == EXCLUDE}
    items: list[Pending] = []
    for line in completeness.sort_values("centre_code").to_dict("records"):
        current = _int(line["submission_id"])
        held = _int(line["held_submission_id"])
        if held is not None:
            items.append(_return_item(submissions.loc[held], "held", findings))
        if current is None or submissions.loc[current, "status"] not in CURRENT_STATUSES:
            continue
        submission = submissions.loc[current]
        sha = submission["file_sha256"]
        own = findings[(findings["submission_id"] == current) & (findings["severity"] == "warning")]
        for f in own.sort_values("failure_id").to_dict("records"):
            key = finding_key(f["rule"], f["sheet"], f["cell"], _int(f["row_number"]))
            if (sha, key) in accepted:
                continue
            if f["rule"] == DROPPED_RULE:
                if sha not in confirmed:
                    items.append(_return_item(submission, "dropped", findings))
            elif f["rule"] not in HOLDING_RULES:
                items.append(_finding_item(submission, key, f))
        if line.get("approval") in ("received", "reviewed"):
            items.append(
                Pending(
                    line["centre_code"],
                    submission["file_name"],
                    sha,
                    current,
                    "approval",
                    APPROVAL_SUBJECT,
                    (APPROVE,),
                    approval=line["approval"],
                )
            )
    current_shas = set(submissions.loc[completeness["submission_id"].dropna(), "file_sha256"])
    strays = findings.loc[findings["rule"] == STRAY_RULE, "submission_id"]
    for submission_id in sorted(set(strays)):
        submission = submissions.loc[submission_id]
        sha = submission["file_sha256"]
        if submission["status"] == "rejected" and sha not in excluded | current_shas:
            items.append(_return_item(submission, "stray", findings))
    return items


def _int(value: object) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _return_item(submission: pd.Series, kind: str, findings: pd.DataFrame) -> Pending:
    rule = {"held": None, "dropped": DROPPED_RULE, "stray": STRAY_RULE}[kind]
    own = findings[findings["submission_id"] == submission["submission_id"]]
    about = own[own["rule"].isin((rule,) if rule else HOLDING_RULES)]
    first = about.iloc[0] if len(about) else None
    return Pending(
        submission["centre_code"],
        submission["file_name"],
        submission["file_sha256"],
        int(submission["submission_id"]),
        kind,
        RETURN_SUBJECT,
        (EXCLUDE,) if kind == "stray" else (CONFIRM, EXCLUDE),
        rule=None if first is None else first["rule"],
        severity=None if first is None else first["severity"],
        message=None if first is None else first["message"],
    )


def _finding_item(submission: pd.Series, key: str, finding: dict) -> Pending:
    location = finding["sheet"]
    if location and finding["cell"]:
        location = f"{location}!{finding['cell']}"
    elif location and finding["row_number"] is not None:
        location = f"{location}, ligne {int(finding['row_number'])}"
    return Pending(
        submission["centre_code"],
        submission["file_name"],
        submission["file_sha256"],
        int(submission["submission_id"]),
        "finding",
        key,
        (ACCEPT,),
        rule=finding["rule"],
        severity=finding["severity"],
        location=location,
        value=finding["value"],
        message=finding["message"],
    )


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
            decision_id = record_decision(
                conn,
                Decision(
                    year,
                    row.centre_code,
                    row.file_sha256,
                    row.submission_id,
                    decision,
                    topic,
                    reason.strip(),
                    decided_by.strip(),
                ),
                moment,
            )
            derive_in(conn, year, deadlines)
            if decision == APPROVE:
                _check_approved(conn, year, row)
    except SQLAlchemyError as err:
        raise WarehouseError(f"recording the decision failed: {failure_reason(err)}") from err
    return Taken(decision_id, effect)


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
    return any(finding_key(r.rule, r.sheet, r.cell, r.row_number) == key for r in found)


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
    delete_activities(conn, row.year, row.centre_code)
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
        return (
            f"{name} excluded: its activities are removed; the previous return « {previous} »"
            " comes back in force when a run reads its file again (put it back in the inbox)"
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


@dataclass(frozen=True)
class AwaitingApproval:
    """An exploitable return of the year not approved yet: its centre, where it stands."""

    centre_code: str
    approval: str
    open_findings: int


def awaiting_approval(engine: Engine, year: int) -> list[AwaitingApproval]:
    """The centres whose exploitable return of ``year`` is not approved, by centre code."""
    completeness = schema_table("completeness")
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                completeness.c.centre_code, completeness.c.approval, completeness.c.open_findings
            )
            .where(
                completeness.c.year == int(year),
                completeness.c.approval.is_not(None),
                completeness.c.approval != "approved",
            )
            .order_by(completeness.c.centre_code)
        ).all()
    return [AwaitingApproval(r.centre_code, r.approval, int(r.open_findings or 0)) for r in rows]


def approval_words(items: list[AwaitingApproval]) -> str:
    """``IREV (received, 2 open), ORIV (reviewed)``: what awaits approval, in English."""
    return ", ".join(
        f"{i.centre_code} ({i.approval}{f', {i.open_findings} open' if i.open_findings else ''})"
        for i in items
    )
