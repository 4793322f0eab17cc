"""The audit trail of runs: one ``load_run`` row per run and year.

Belongs here: what a run records about itself (when it started and finished, what it found in
the inbox and did with it, which pipeline and reference-data versions ran), so that "which
version did the bilan use?" has an answer in the warehouse; and when the warehouse's data last
changed (``last_change``), what the outputs say they are « as of ». Stays out: loading returns
(``loading``), Dagster (the assets pass the run id and start time), the schema (``sql/schema``).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from crpv_pipeline import __version__
from crpv_pipeline.model import ReturnResult
from crpv_pipeline.reference.refdata import default_nomenclature
from crpv_pipeline.warehouse.engine import WarehouseError, failure_reason, write_transaction
from crpv_pipeline.warehouse.loading import LoadOutcome
from crpv_pipeline.warehouse.schema import schema_table

ACTIONS = ("loaded", "rejected", "held", "unchanged", "deferred")


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


@dataclass(frozen=True)
class LoadRun:
    """One run's record of a year (a row of ``load_run``)."""

    run_id: str
    year: int
    started_at: dt.datetime
    files_seen: int
    files_read: int
    submissions: dict[str, int]
    pipeline_version: str
    reference_data_version: str
    finished_at: dt.datetime | None = None

    def row(self) -> dict[str, object]:
        return {
            "run_id": self.run_id,
            "year": self.year,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "files_seen": self.files_seen,
            "files_read": self.files_read,
            **{f"submissions_{a}": self.submissions.get(a, 0) for a in ACTIONS},
            "pipeline_version": self.pipeline_version,
            "reference_data_version": self.reference_data_version,
        }


def load_run_of(
    run_id: str,
    year: int,
    started_at: dt.datetime | None,
    results: Sequence[ReturnResult],
    outcomes: Sequence[LoadOutcome],
) -> LoadRun:
    """What a run did with a year's returns, with the versions running now."""
    actions = Counter(o.action for o in outcomes)
    return LoadRun(
        run_id=run_id,
        year=int(year),
        started_at=started_at or _utc_now(),
        files_seen=len(results),
        files_read=sum(r.recorded_as is None for r in results),
        submissions={a: actions.get(a, 0) for a in ACTIONS},
        pipeline_version=__version__,
        reference_data_version=default_nomenclature().version,
    )


def record_load_run(engine: Engine, run: LoadRun) -> None:
    """Write the run's row (replacing it when a step of the run is executed again)."""
    table = schema_table("load_run")
    try:
        with write_transaction(engine, f"recording run {run.run_id} of {run.year}") as conn:
            conn.execute(
                sa.delete(table).where(table.c.run_id == run.run_id, table.c.year == run.year)
            )
            conn.execute(sa.insert(table), [run.row()])
    except SQLAlchemyError as err:
        raise WarehouseError(
            f"recording run {run.run_id} of {run.year} failed: {failure_reason(err)}"
        ) from err


def finish_load_run(
    engine: Engine, run_id: str, year: int, finished_at: dt.datetime | None = None
) -> bool:
    """Mark the run's row finished (its derived tables are rebuilt); False if it has none."""
    table = schema_table("load_run")
    try:
        with write_transaction(engine, f"recording the end of run {run_id} of {year}") as conn:
            done = conn.execute(
                sa.update(table)
                .where(table.c.run_id == run_id, table.c.year == int(year))
                .values(finished_at=finished_at or _utc_now())
            )
            return bool(done.rowcount)
    except SQLAlchemyError as err:
        raise WarehouseError(
            f"recording the end of run {run_id} of {year} failed: {failure_reason(err)}"
        ) from err


def last_change(engine: Engine) -> dt.datetime | None:
    """When the warehouse's data last changed: its latest file recorded or decision taken.

    The latest ``submission.loaded_at`` or ``steward_decision.decided_at`` (naive UTC, to the
    second), None in a warehouse that has neither. A run that finds every file known changes
    neither: what the bilan and the overview say they are « as of ».
    """
    inspector = sa.inspect(engine)
    times = []
    with engine.connect() as conn:
        for name, column in (("submission", "loaded_at"), ("steward_decision", "decided_at")):
            if inspector.has_table(name):  # no decisions in a warehouse of an earlier version
                times.append(conn.scalar(sa.select(sa.func.max(schema_table(name).c[column]))))
    known = [t for t in times if t is not None]
    return max(known).replace(microsecond=0) if known else None
