"""What awaits the stewards' decisions for a year: findings to accept, returns to decide on.

Belongs here: the list ``crpv review`` prints and the stewards' overview offers decisions on
(``pending``: warnings and plausibility warnings of the returns in force not accepted yet, held
returns, returns that dropped activities, stray second files, returns to approve) and the
exploitable returns not approved yet (``awaiting_approval``, for the asset check). Reads only.
Stays out: taking decisions (``review``), their rows (``decisions``), people's wording.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from crpv_pipeline.warehouse.decisions import (
    ACCEPT,
    APPROVAL_SUBJECT,
    APPROVE,
    CONFIRM,
    EXCLUDE,
    RETURN_SUBJECT,
    accepted_findings,
    decisions_in_force,
    finding_key,
)
from crpv_pipeline.warehouse.holding import HOLDING_RULES
from crpv_pipeline.warehouse.loading import CURRENT_STATUSES
from crpv_pipeline.warehouse.schema import schema_table

DROPPED_RULE = "activities_dropped"
STRAY_RULE = "duplicate_file"


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
    plausible = _table(conn, "plausibility_finding", year).sort_values(["rule", "subject"])
    accepted = accepted_findings(conn, year)
    in_force = decisions_in_force(conn, year)
    confirmed = {d.file_sha256 for d in in_force if d.decision == CONFIRM}
    excluded = {d.file_sha256 for d in in_force if d.decision == EXCLUDE}
    items: list[Pending] = []
    # each submission's warnings and plausibility warnings, grouped once (not a scan per centre)
    warnings = findings[findings["severity"] == "warning"].sort_values("failure_id")
    own_warnings = _by_submission(warnings)
    own_plausible = _by_submission(plausible)
    for line in completeness.sort_values("centre_code").to_dict("records"):
        current = _int(line["submission_id"])
        held = _int(line["held_submission_id"])
        if held is not None:
            items.append(_return_item(submissions.loc[held], "held", findings))
        if current is None or submissions.loc[current, "status"] not in CURRENT_STATUSES:
            continue
        submission = submissions.loc[current].to_dict()  # read once per finding below
        sha = submission["file_sha256"]
        for f in own_warnings.get(current, ()):
            key = finding_key(f["rule"], f["sheet"], f["cell"], _int(f["row_number"]))
            if (sha, key) in accepted:
                continue
            if f["rule"] == DROPPED_RULE:
                if sha not in confirmed:
                    items.append(_return_item(submission, "dropped", findings))
            elif f["rule"] not in HOLDING_RULES:
                items.append(_finding_item(submission, key, f))
        for p in own_plausible.get(current, ()):
            if (sha, p["finding_key"]) not in accepted:
                items.append(_plausibility_item(submission, p))
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


def _by_submission(rows: pd.DataFrame) -> dict[int | None, list[dict]]:
    """``rows`` (of a table with ``submission_id``) as records by submission, in their order."""
    grouped: dict[int | None, list[dict]] = {}
    columns = list(rows.columns)
    for values in rows.itertuples(index=False, name=None):  # plain values (``_table``)
        record = dict(zip(columns, values, strict=True))
        grouped.setdefault(_int(record["submission_id"]), []).append(record)
    return grouped


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


def _finding_item(submission: Mapping, key: str, finding: dict) -> Pending:
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


def _plausibility_item(submission: Mapping, finding: dict) -> Pending:
    return Pending(
        submission["centre_code"],
        submission["file_name"],
        submission["file_sha256"],
        int(submission["submission_id"]),
        "finding",
        finding["finding_key"],
        (ACCEPT,),
        rule=finding["rule"],
        severity="warning",
        message=finding["message"],
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
