"""Whether a return is put in force: returns held, returns with nothing loaded, activities dropped.

Belongs here: what a load decides before a return replaces the submission in force of its centre
and year, and the file-level findings (in French) that say so:

- a return with no activity to load (no activity row: ``empty_return``; rows but none valid:
  ``no_valid_row``) is *held* when the submission in force has activities: recorded with status
  ``held``, not put in force, the submission in force stays until a steward decides. Nothing of
  a held return waits to be loaded (it has no activity): a decision puts it in force by
  superseding the submission in force, the held one becoming ``loaded`` (``loaded_with_errors``
  when it has errors);
- the same return with nothing in force to protect (a first return, or one replacing a return
  that loaded nothing) is put in force, but is no exploitable return (``return_not_exploitable``;
  ``completeness`` says ``empty``);
- a return that keeps less than half of the activities of the submission it replaces is put in
  force with a warning (``activities_dropped``) giving both counts.

Stays out: writing rows (``loading``), comparing activities (``resubmission``), validating
(``validation``), Dagster.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crpv_pipeline.model import Finding, ReturnResult
from crpv_pipeline.reference.parsing import french_count, french_number
from crpv_pipeline.reference.refdata import default_nomenclature
from crpv_pipeline.warehouse.schema import schema_table

HELD = "held"
"""Status of a submission not put in force, awaiting a steward's decision."""

HOLDING_RULES = ("empty_return", "no_valid_row", "return_not_exploitable", "activities_dropped")
"""The findings a load adds (``hold``): each return gets at most one of them."""


@dataclass(frozen=True)
class InForce:
    """What the submissions in force for a centre and year hold: their activities, last file."""

    submission_ids: tuple[int, ...]
    activities: int
    file_name: str | None


def submissions_in_force(conn: Connection, submission_ids: Sequence[int]) -> InForce:
    """The activities loaded from ``submission_ids`` and the name of the latest one's file."""
    submission = schema_table("submission")
    ids = tuple(int(i) for i in submission_ids)
    if not ids:
        return InForce((), 0, None)
    rows = conn.execute(
        sa.select(submission.c.file_name, submission.c.rows_loaded)
        .where(submission.c.submission_id.in_(ids))
        .order_by(submission.c.submission_id)
    ).all()
    return InForce(ids, sum(int(r.rows_loaded) for r in rows), rows[-1].file_name)


def hold(result: ReturnResult, in_force: InForce) -> None:
    """Decide whether ``result`` is held and add the finding that says why, if any.

    ``result`` (not rejected, read by this run) gets ``held`` set and, in ``findings``, at most
    one finding of ``HOLDING_RULES`` (one left by an earlier call is replaced, so deciding
    twice gives the same return).
    """
    nomenclature = default_nomenclature()
    findings = [f for f in result.findings if f.rule not in HOLDING_RULES]
    after, before = result.rows_loaded, in_force.activities
    context = {
        "year": result.year,
        "previous": in_force.file_name,
        "previous_count": french_number(before),
        "previous_activities": french_count(before, "activité"),
        "activities": french_count(after, "activité"),
        "rows": french_count(result.rows_read, "ligne"),
    }
    rule = None
    result.held = after == 0 and before > 0
    if result.held:
        rule = "empty_return" if result.rows_read == 0 else "no_valid_row"
    elif after == 0:
        rule = "return_not_exploitable"
    elif 2 * after < before:
        rule = "activities_dropped"
    if rule is not None:
        findings.append(
            Finding.of_file(
                result.file_name,
                rule,
                nomenclature.severity(rule),
                nomenclature.message(rule, **context),
            )
        )
    result.findings = findings
