"""Incremental runs: the returns of a year's inbox that the warehouse already knows by SHA-256.

Belongs here: deciding, for each file of the inbox, whether reading it again could change
anything, and if not rebuilding its validated return from the rows the warehouse holds (its
submission and findings; its activities are only counted: nothing loads them again), so that
``year.validate.validate_year`` need not read it.
Stays out: reading and validating files (``validation``), writing rows (``loading``), Dagster.

A file is known when all of these hold, which make reading it again give the same outcome:
its bytes (SHA-256) and name were recorded for the year, that submission is still in force
(``loading.recorded_submission``: no return of the centre loaded or held since; a held return is
known as held, so it is neither held nor loaded again), it was not rejected as
one of two files of a centre (that depends on the other files, not on its bytes), and the run
that recorded it ran the same pipeline version with the same reference data (``load_run``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from crpv_pipeline import __version__
from crpv_pipeline.model import (
    FINDING_FIELDS,
    Finding,
    ReturnResult,
    display_name,
    empty_activities,
)
from crpv_pipeline.reference.refdata import default_nomenclature
from crpv_pipeline.warehouse.holding import HELD
from crpv_pipeline.warehouse.loading import CURRENT_STATUSES, recorded_submission
from crpv_pipeline.warehouse.schema import schema_table

DUPLICATE_RULE = "duplicate_file"
"""The file-level rule whose rejection depends on the other files of the inbox."""


def known_returns(
    engine: Engine,
    year: int,
    files: Mapping[Path, str | None],
    names: Mapping[Path, str] | None = None,
) -> dict[Path, ReturnResult]:
    """The files (path → SHA-256) whose validated return can be rebuilt from the warehouse.

    ``names`` gives the name each file goes by (its path relative to the year folder, as
    recorded in ``submission.file_name``); by default, its name. Each rebuilt return has
    ``recorded_as`` set to its submission. A warehouse without the tables yet knows nothing.
    """
    inspector = sa.inspect(engine)
    if not (inspector.has_table("submission") and inspector.has_table("load_run")):
        return {}
    reference_version = default_nomenclature().version
    known: dict[Path, ReturnResult] = {}
    with engine.connect() as conn:
        for path, sha256 in files.items():
            if not sha256:
                continue
            name = (names or {}).get(path) or display_name(path)
            row = _known_submission(conn, year, name, sha256, reference_version)
            if row is not None:
                known[path] = _rebuild(conn, row, path)
    return known


def _known_submission(
    conn: Connection, year: int, file_name: str, sha256: str, reference_version: str
) -> sa.Row | None:
    submission = schema_table("submission")
    load_run = schema_table("load_run")
    failure = schema_table("validation_failure")
    candidate = conn.execute(
        sa.select(submission.c.centre_code)
        .where(
            submission.c.year == year,
            submission.c.file_sha256 == sha256,
            submission.c.file_name == file_name,
        )
        .order_by(submission.c.submission_id.desc())
        .limit(1)
    ).first()
    if candidate is None:
        return None
    row = recorded_submission(conn, year, candidate.centre_code, file_name, sha256)
    if row is None or row.file_name != file_name or row.status in ("superseded", "excluded"):
        return None  # superseded but in force again: what replaced it was excluded
    same_versions = conn.scalar(
        sa.select(sa.func.count())
        .select_from(load_run)
        .where(
            load_run.c.run_id == row.run_id,
            load_run.c.year == year,
            load_run.c.pipeline_version == __version__,
            load_run.c.reference_data_version == reference_version,
        )
    )
    duplicate = conn.scalar(
        sa.select(sa.func.count())
        .select_from(failure)
        .where(failure.c.submission_id == row.submission_id, failure.c.rule == DUPLICATE_RULE)
    )
    return row if same_versions and not duplicate else None


def _rebuild(conn: Connection, row: sa.Row, path: Path) -> ReturnResult:
    failure = schema_table("validation_failure")
    findings = [
        Finding(**dict(zip(FINDING_FIELDS, values, strict=True)))
        for values in conn.execute(
            sa.select(*(failure.c[f] for f in FINDING_FIELDS))
            .where(failure.c.submission_id == row.submission_id)
            .order_by(failure.c.failure_id)
        )
    ]
    return ReturnResult(
        path=path,
        file_sha256=row.file_sha256,
        year=row.year,
        centre_code=row.centre_code,
        template_version=row.template_version,
        rows_read=row.rows_read,
        activities=empty_activities(),  # they stay in the warehouse: nothing loads them again
        findings=findings,
        rejected=row.status == "rejected",
        held=row.status == HELD,
        recorded_as=row.submission_id,
        activities_stored=row.rows_loaded if row.status in CURRENT_STATUSES else None,
        relative_name=row.file_name,
    )
