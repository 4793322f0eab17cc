"""Loading a validated return: its submission, activities and findings, in one transaction.

Belongs here: turning a ``ReturnResult`` into rows of ``submission``, ``fact_activity``,
``fact_activity_public`` and ``validation_failure``, the rules of a resubmission (the same file is
``unchanged``, a new one supersedes the centre's previous submission and records how it differs from
it, a rejected or held one leaves it in place, one a steward confirmed is never held) and the
conversion of pandas values into values every driver accepts (``rows``). Stays out: the engine,
the write lock, the schema and the derived tables (``engine``, ``schema``, ``derive``), how each
driver writes many rows at once (``bulk``), comparing activities (``resubmission``), deciding
whether a return is held (``holding``), stewards' decisions (``decisions``), validating returns
(``intake``) and choosing which files of a year to load (``year``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from crpv_pipeline.gc_pause import gc_paused
from crpv_pipeline.model import ReturnResult
from crpv_pipeline.testpoints import pause_point
from crpv_pipeline.warehouse.archive import delete_activities, supersede_activities
from crpv_pipeline.warehouse.decisions import is_confirmed
from crpv_pipeline.warehouse.engine import WarehouseError, failure_reason, write_transaction
from crpv_pipeline.warehouse.holding import HELD, InForce, hold, submissions_in_force
from crpv_pipeline.warehouse.resubmission import (
    ActivityDiff,
    compare_activities,
    submission_activities,
)
from crpv_pipeline.warehouse.rows import insert_activities, insert_findings, next_id, plain_values
from crpv_pipeline.warehouse.schema import schema_table

__all__ = [
    "CURRENT_STATUSES",
    "LoadOutcome",
    "load_return",
    "recorded_submission",
]


CURRENT_STATUSES = ("loaded", "loaded_with_errors")
"""Statuses of a submission whose activities are in ``fact_activity``."""


@dataclass(frozen=True)
class LoadOutcome:
    """What ``load_return`` did with one return.

    ``action`` is ``loaded`` (activities replaced the centre's previous ones), ``rejected``
    (recorded, nothing loaded), ``held`` (recorded, not put in force: ``holding``),
    ``unchanged`` (the same file was already recorded) or, from ``year.load.load_year``,
    ``deferred`` (the file changed after it was read: no submission, the next run loads it).
    ``diff`` says how a loaded return differs from the one it superseded.
    """

    submission_id: int | None
    action: str
    status: str
    rows_loaded: int
    n_errors: int
    n_warnings: int
    superseded_ids: tuple[int, ...] = ()
    diff: ActivityDiff | None = None


@gc_paused()
def load_return(
    engine: Engine,
    result: ReturnResult,
    *,
    run_id: str,
    received_at: datetime,
    loaded_at: datetime,
) -> LoadOutcome:
    """Record one validated return, in one write transaction.

    The file becomes a ``submission`` row and its findings ``validation_failure`` rows. Unless it
    is rejected or held, its activities replace those of the centre's previous submission for
    the year, which becomes ``superseded`` (so do the centre's held submissions); a rejected file
    leaves what was loaded in place. A return with no activity to load is held over a submission
    in force that has activities, and a load may add a finding saying so (``holding.hold``, which
    updates ``result``). A file whose SHA-256 was already recorded for the same centre and year
    (or, for an unidentified centre, the same file name), with no return loaded or held for them
    since (``recorded_submission``), and that validates to the same outcome (status, rows
    loaded, errors, warnings) is not recorded again: the outcome is ``unchanged`` (so a re-run,
    a rejected file sent twice, or the current return sent again after a rejected one changes
    nothing, while a file rejected as one of two files of its centre loads once the other is
    gone). A loaded return records in its submission
    row how it differs from the one it supersedes (``resubmission``). Timestamps are stored in
    UTC (naive datetimes are taken as UTC).

    Reaching the warehouse is tried again while it is unavailable (``write_transaction``); a
    process that dies during the transaction leaves the warehouse as it was before the load.
    """
    where = f"{result.file_name} ({result.centre_code or 'centre inconnu'}, {result.year})"
    if not result.rejected and result.centre_code is None:
        raise WarehouseError(f"loading {where} failed: a loaded return must name its centre")
    try:
        with write_transaction(engine, f"loading {where}") as conn:
            return _load(conn, result, run_id, _utc(received_at), _utc(loaded_at))
    except SQLAlchemyError as err:
        raise WarehouseError(
            f"loading {where} into the warehouse failed: {failure_reason(err)}"
        ) from err


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def _same_key(year: int | None, centre_code: str | None, file_name: str) -> list:
    """Submissions of one centre and year (of one file name when the centre is unknown)."""
    submission = schema_table("submission")
    same_key = [submission.c.year == year]
    if centre_code is not None:
        same_key.append(submission.c.centre_code == centre_code)
    else:
        same_key += [submission.c.centre_code.is_(None), submission.c.file_name == file_name]
    return same_key


def recorded_submission(
    conn: Connection,
    year: int | None,
    centre_code: str | None,
    file_name: str,
    sha256: str,
    outcome: ReturnResult | None = None,
) -> sa.Row | None:
    """The submission the same bytes were last recorded as, if still in force, else None.

    In force: no return of the same centre and year (of the same file name when the centre is
    unknown) was loaded or held after it; a rejected file recorded since does not count. With
    ``outcome``, only a submission recorded with the same status, rows loaded, errors and
    warnings counts.
    """
    submission = schema_table("submission")
    same_key = _same_key(year, centre_code, file_name)
    same_outcome = []
    if outcome is not None:
        same_outcome = [
            submission.c.status == outcome.status,
            submission.c.rows_loaded == outcome.rows_loaded,
            submission.c.n_errors == outcome.n_errors,
            submission.c.n_warnings == outcome.n_warnings,
        ]
    same = conn.execute(
        sa.select(submission)
        .where(*same_key, *same_outcome, submission.c.file_sha256 == sha256)
        .order_by(submission.c.submission_id.desc())
        .limit(1)
    ).first()
    if same is None or conn.scalar(
        sa.select(sa.func.count())
        .select_from(submission)
        .where(
            *same_key,
            submission.c.submission_id > same.submission_id,
            submission.c.status.in_((*CURRENT_STATUSES, "superseded", HELD)),
        )
    ):
        return None
    return same


def _load(
    conn: Connection, result: ReturnResult, run_id: str, received_at: datetime, loaded_at: datetime
) -> LoadOutcome:
    submission = schema_table("submission")
    if not result.rejected and result.recorded_as is None:  # a known one was held, or not
        hold(result, _replaced(conn, result))
        if result.held and is_confirmed(conn, result.year, result.file_sha256):
            result.held = False  # a steward put these bytes in force: read again, they stay
    same = recorded_submission(
        conn, result.year, result.centre_code, result.file_name, result.file_sha256, result
    )
    if same is None and result.recorded_as is not None:  # its activities were not read again
        raise WarehouseError(
            f"{result.file_name} was known as submission {result.recorded_as}, which another"
            " load replaced during this run: run the year again to read it"
        )
    if same is not None:
        return LoadOutcome(
            same.submission_id,
            "unchanged",
            same.status,
            same.rows_loaded,
            same.n_errors,
            same.n_warnings,
        )

    submission_id = next_id(conn, submission.c.submission_id)
    superseded: tuple[int, ...] = ()
    diff: ActivityDiff | None = None
    put_in_force = not (result.rejected or result.held)
    if not result.rejected:  # a new held return supersedes the held ones before it too
        _supersede_held(conn, result)
    if put_in_force:
        superseded = in_force(conn, result.year, result.centre_code, result.file_name)
        if superseded:
            diff = _diff(conn, result, superseded)
            conn.execute(
                sa.update(submission)
                .where(submission.c.submission_id.in_(superseded))
                .values(status="superseded")
            )
            # kept in the archive: excluding this return puts them back (``review``)
            supersede_activities(conn, result.year, result.centre_code)
        else:
            delete_activities(conn, result.year, result.centre_code)

    conn.execute(
        sa.insert(submission),
        [
            {
                "submission_id": submission_id,
                "year": result.year,
                "centre_code": result.centre_code,
                "file_name": result.file_name,
                "file_sha256": result.file_sha256,
                "template_version": result.template_version,
                "received_at": received_at,
                "loaded_at": loaded_at,
                "status": result.status,
                "rows_read": result.rows_read,
                "rows_loaded": result.rows_loaded,
                "rows_rejected": result.rows_rejected,
                "n_errors": result.n_errors,
                "n_warnings": result.n_warnings,
                "run_id": run_id,
                "replaces_submission_id": diff.replaces if diff else None,
                "activities_added": diff.added if diff else None,
                "activities_removed": diff.removed if diff else None,
                "activities_changed": diff.changed if diff else None,
                "half_days_before": diff.half_days_before if diff else None,
                "half_days_after": _half_days(result) if put_in_force else None,
            }
        ],
    )
    if put_in_force:
        insert_activities(conn, result, submission_id)
    insert_findings(conn, result, submission_id)
    pause_point("load_return:uncommitted")  # fault tests kill the process here (testpoints)
    return LoadOutcome(
        submission_id,
        "loaded" if put_in_force else result.status,
        result.status,
        result.rows_loaded,
        result.n_errors,
        result.n_warnings,
        superseded,
        diff,
    )


def in_force(
    conn: Connection, year: int | None, centre_code: str | None, file_name: str
) -> tuple[int, ...]:
    """The submissions in force for the centre and year: those a loaded return supersedes."""
    submission = schema_table("submission")
    return tuple(
        conn.scalars(
            sa.select(submission.c.submission_id)
            .where(
                *_same_key(year, centre_code, file_name),
                submission.c.status.in_(CURRENT_STATUSES),
            )
            .order_by(submission.c.submission_id)
        )
    )


def compare_in_advance(engine: Engine, result: ReturnResult) -> None:
    """Compare ``result`` with the submissions in force now, before it is loaded.

    Worker processes do it as soon as they have validated a return, while the loading process
    loads the others: reading back and comparing the activities a 5 000-row resubmission
    replaces takes about 0.1 s, as long as the rest of its load.
    The load takes the comparison (``ReturnResult.compared``) if the same submissions are still
    in force (their activities never change), and compares again otherwise. Best effort: a
    warehouse that cannot be read now leaves the comparison to the load.
    """
    if result.rejected or result.centre_code is None or result.recorded_as is not None:
        return
    try:
        with engine.connect() as conn:
            ids = in_force(conn, result.year, result.centre_code, result.file_name)
            if ids:  # nothing in force: nothing to compare with
                before = submission_activities(conn, ids)
                result.compared = (ids, compare_activities(before, result.activities, max(ids)))
    except SQLAlchemyError:
        return


def _replaced(conn: Connection, result: ReturnResult) -> InForce:
    """What ``result`` replaces: the submissions in force, or what it replaced when it was loaded.

    The same bytes read again (a re-run reading every file) are judged as when they were first
    loaded, so that they get the same findings and stay ``unchanged``.
    """
    same = recorded_submission(
        conn, result.year, result.centre_code, result.file_name, result.file_sha256
    )
    if same is not None and same.status in CURRENT_STATUSES:
        replaced = same.replaces_submission_id
        return submissions_in_force(conn, () if replaced is None else (replaced,))
    return submissions_in_force(
        conn, in_force(conn, result.year, result.centre_code, result.file_name)
    )


def _supersede_held(conn: Connection, result: ReturnResult) -> None:
    """The centre's held submissions of the year become ``superseded``: a later one replaces."""
    submission = schema_table("submission")
    conn.execute(
        sa.update(submission)
        .where(
            *_same_key(result.year, result.centre_code, result.file_name),
            submission.c.status == HELD,
        )
        .values(status="superseded")
    )


def _diff(conn: Connection, result: ReturnResult, superseded: tuple[int, ...]) -> ActivityDiff:
    """How ``result`` differs from the ``superseded`` submissions (compared in advance or now)."""
    if result.compared is not None and result.compared[0] == superseded:
        return result.compared[1]
    return compare_activities(
        submission_activities(conn, superseded), result.activities, max(superseded)
    )


def _half_days(result: ReturnResult) -> int:
    values = plain_values(result.activities["half_days"], integer=True)
    return sum(v for v in values if v is not None)
