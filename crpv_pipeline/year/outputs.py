"""Writing one year's files for people: correction workbooks (by the workers) and the overview.

Belongs here: which workbooks are written again, kept or removed in a year's output folder.
Stays out: what a workbook holds (``outputs.corrections``, ``outputs.steward_overview``).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

from crpv_pipeline.atomic import remove_leftovers
from crpv_pipeline.intake.file_guards import inflated_size
from crpv_pipeline.intake.inbox import file_size
from crpv_pipeline.model import ReturnResult
from crpv_pipeline.outputs.correction_names import CORRECTIONS_PREFIX, made_for
from crpv_pipeline.outputs.corrections import correction_file_name, write_correction_workbook
from crpv_pipeline.outputs.steward_overview import write_steward_overview
from crpv_pipeline.reference.refdata import (
    default_nomenclature,
)
from crpv_pipeline.warehouse.tables import read_table
from crpv_pipeline.year.workers import in_processes


def write_corrections(
    results: Sequence[ReturnResult], folder: Path, workers: int = 1
) -> list[Path]:
    """One correction workbook per return with findings, in ``folder``.

    Correction workbooks of earlier runs that no longer apply (the centre sent a clean return)
    are removed, so the folder always matches the latest run, and so are the temporary files
    of a run that was killed. With ``workers`` above 1 and enough to copy, that many processes
    write workbooks side by side.
    """
    folder.mkdir(parents=True, exist_ok=True)
    remove_leftovers(folder)
    paths = [(r, folder / correction_file_name(r)) for r in results if r.findings]
    # A file not read again keeps its workbook if that one is whole and was written for it.
    jobs = [(r, p) for r, p in paths if r.recorded_as is None or not made_for(p, r.file_sha256)]
    sizes = [file_size(r.path) for r, _ in jobs]
    # Copying a return's sheets takes about twice the memory of validating it (up to 9 times
    # its inflated size, against 4): counted twice in the workers' read budget.
    costs = [2 * inflated_size(r.path) for r, _ in jobs]
    with ExitStack() as stack:
        parallel = in_processes(stack, _correction_workbook, jobs, workers, sizes, costs)
        list(parallel if parallel is not None else map(_correction_workbook, jobs))
    written = [p for _, p in paths]
    for stale in set(folder.glob(f"{CORRECTIONS_PREFIX}*.xlsx")) - set(written):
        stale.unlink()
    return written


def _correction_workbook(job: tuple[ReturnResult, Path]) -> Path:
    result, path = job
    return write_correction_workbook(result, path)


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
    remove_leftovers(folder)
    return write_steward_overview(year, completeness, findings, folder, names)

