"""One year of the pipeline as plain functions: find the returns, validate them, load, derive.

The Dagster assets call these functions stage by stage; tests and benchmarks call them directly.
This module decides the cross-file rules (two files for one centre) and the order of work; the
rules of a single file live in ``validation``, the SQL in ``warehouse``, ``loading`` and ``sql/``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from crpv_pipeline.corrections import (
    CORRECTIONS_PREFIX,
    correction_file_name,
    write_correction_workbook,
    write_steward_overview,
)
from crpv_pipeline.file_checks import file_finding
from crpv_pipeline.loading import LoadOutcome, load_return
from crpv_pipeline.model import ReturnResult, empty_activities
from crpv_pipeline.reading import ReturnFileError, discover_returns
from crpv_pipeline.refdata import Nomenclature, default_nomenclature
from crpv_pipeline.validation import validate_return
from crpv_pipeline.warehouse import read_table

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


@dataclass(frozen=True)
class InboxFile:
    """A return found in a year's inbox folder."""

    path: Path
    size: int
    received_at: dt.datetime
    """The file's modification time, in UTC: when the return reached the inbox."""


def inbox_files(inbox: Path, year: int) -> list[InboxFile]:
    """The returns of ``<inbox>/<year>/`` (lock and hidden files left out), sorted by name."""
    files = []
    for path in discover_returns(inbox / str(year)):
        stat = path.stat()
        received = dt.datetime.fromtimestamp(stat.st_mtime, tz=dt.UTC).replace(tzinfo=None)
        files.append(InboxFile(path=path, size=stat.st_size, received_at=received))
    return files


def reject_duplicate_centres(results: Sequence[ReturnResult], nomenclature: Nomenclature) -> None:
    """Reject every file of a centre that sent two files or more for the same year (§4)."""
    by_centre: dict[str, list[ReturnResult]] = defaultdict(list)
    for result in results:
        if result.centre_code is not None:
            by_centre[result.centre_code].append(result)
    for centre, group in by_centre.items():
        if len(group) < 2:
            continue
        names = ", ".join(r.file_name for r in group)
        for result in group:
            error = ReturnFileError("duplicate_file", value=names, centre=centre, year=result.year)
            result.findings = [file_finding(result.path, error, nomenclature)]
            result.activities = empty_activities()
            result.rows_read = 0
            result.rejected = True


def validate_year(
    files: Sequence[InboxFile], year: int, progress: Progress = _quiet
) -> list[ReturnResult]:
    """Read and validate every return of a year's inbox, then apply the cross-file rules."""
    results = []
    for index, file in enumerate(files, start=1):
        result = validate_return(file.path, year)
        progress(
            f"[{index}/{len(files)}] {file.path.name}: {result.status}, "
            f"{result.rows_loaded}/{result.rows_read} rows, "
            f"{result.n_errors} errors, {result.n_warnings} warnings"
        )
        results.append(result)
    reject_duplicate_centres(results, default_nomenclature())
    return results


def load_year(
    engine,
    files: Sequence[InboxFile],
    results: Sequence[ReturnResult],
    run_id: str,
    progress: Progress = _quiet,
) -> list[LoadOutcome]:
    """Load each validated return into the warehouse, one transaction per return."""
    received = {f.path: f.received_at for f in files}
    loaded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    outcomes = []
    for result in results:
        outcome = load_return(
            engine,
            result,
            run_id=run_id,
            received_at=received[result.path],
            loaded_at=loaded_at,
        )
        progress(f"{result.file_name}: {outcome.action} (submission {outcome.submission_id})")
        outcomes.append(outcome)
    return outcomes


def write_corrections(results: Sequence[ReturnResult], folder: Path) -> list[Path]:
    """One correction workbook per return with findings, in ``folder``.

    Correction workbooks of earlier runs that no longer apply (the centre sent a clean return)
    are removed, so the folder always matches the latest run.
    """
    folder.mkdir(parents=True, exist_ok=True)
    written = [
        write_correction_workbook(r, folder / correction_file_name(r))
        for r in results
        if r.findings
    ]
    for stale in set(folder.glob(f"{CORRECTIONS_PREFIX}*.xlsx")) - set(written):
        stale.unlink()
    return written


def write_year_overview(engine, year: int, folder: Path) -> Path:
    """The stewards' workbook of ``year``: completeness and the findings of every return.

    Findings of superseded submissions are left out: they were fixed by a later return.
    """
    completeness = read_table(engine, "completeness", year)
    submissions = read_table(engine, "submission", year)
    findings = read_table(engine, "validation_failure", year)
    live = submissions.loc[submissions["status"] != "superseded", "submission_id"]
    findings = findings.loc[findings["submission_id"].isin(live)]
    names = {c.code: c.label for c in default_nomenclature().centres}
    folder.mkdir(parents=True, exist_ok=True)
    return write_steward_overview(year, completeness, findings, folder, names)
