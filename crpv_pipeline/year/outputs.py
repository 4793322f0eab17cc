"""Writing one year's files for people: correction workbooks (by the workers) and the overview.

Belongs here: which workbooks are written again, kept or removed in a year's output folder
(an overview whose rows did not change is left as it is).
Stays out: what a workbook holds (``outputs.corrections``, ``outputs.steward_overview``).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from crpv_pipeline.atomic import remove_leftovers
from crpv_pipeline.intake.file_guards import inflated_size
from crpv_pipeline.intake.inbox import file_size
from crpv_pipeline.model import FINDING_FIELDS, Finding, ReturnResult
from crpv_pipeline.outputs.correction_names import CORRECTIONS_PREFIX, made_for
from crpv_pipeline.outputs.corrections import correction_file_name, write_correction_workbook
from crpv_pipeline.outputs.fingerprint import inputs_fingerprint, refresh
from crpv_pipeline.outputs.steward_overview import OVERVIEW_FILE_NAME, write_steward_overview
from crpv_pipeline.reference.refdata import (
    default_nomenclature,
)
from crpv_pipeline.warehouse.awaiting import pending
from crpv_pipeline.warehouse.decisions import (
    finding_key,
    last_decided_at,
    last_decision_id,
    read_accepted_findings,
)
from crpv_pipeline.warehouse.tables import read_table
from crpv_pipeline.year.validate import Progress, quiet
from crpv_pipeline.year.workers import in_processes


def write_corrections(
    results: Sequence[ReturnResult], folder: Path, workers: int = 1, engine=None
) -> list[Path]:
    """One correction workbook per return with findings, in ``folder``.

    With ``engine`` (the warehouse, the year's tables derived), the warnings a steward accepted
    for a return's bytes are left out of its workbook, and the plausibility warnings about its
    figures are added (``for_the_centre``).

    Correction workbooks of earlier runs that no longer apply (the centre sent a clean return)
    are removed, so the folder always matches the latest run, and so are the temporary files
    of a run that was killed. With ``workers`` above 1 and enough to copy, that many processes
    write workbooks side by side.
    """
    folder.mkdir(parents=True, exist_ok=True)
    remove_leftovers(folder)
    shown = for_the_centre(engine, results) if engine is not None else [(r, False) for r in results]
    changed = {id(r) for r, adjusted in shown if adjusted}
    results = [r for r, _ in shown]
    paths = [(r, folder / correction_file_name(r)) for r in results if r.findings]
    # A file not read again keeps its workbook if that one is whole and was written for it, and
    # no decision nor plausibility warning changed what it shows (then it is written again).
    jobs = [
        (r, p)
        for r, p in paths
        if r.recorded_as is None or id(r) in changed or not made_for(p, r.file_sha256)
    ]
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


def for_the_centre(engine, results: Sequence[ReturnResult]) -> list[tuple[ReturnResult, bool]]:
    """``results`` as their correction workbooks show them, after the stewards' decisions.

    Warnings accepted for a return's bytes are left out; the plausibility warnings about the
    figures of a return in force are added, as file-level warnings. Each return comes with
    whether its findings changed (its workbook is then written again).
    """
    if not sa.inspect(engine).has_table("plausibility_finding"):  # a warehouse never derived
        return [(r, False) for r in results]
    years = {r.year for r in results if r.year is not None}
    accepted: set[tuple[str, str]] = set()
    plausible = []
    for year in years:
        accepted |= read_accepted_findings(engine, year)
        plausible.append(read_table(engine, "plausibility_finding", year))
    extra: dict[str, list[Finding]] = {}
    for frame in plausible:
        for p in frame.to_dict("records"):
            if p["file_sha256"] and (p["file_sha256"], p["finding_key"]) not in accepted:
                extra.setdefault(p["file_sha256"], []).append(p)
    out = []
    for result in results:
        kept = [
            f
            for f in result.findings
            if f.severity != "warning"
            or (result.file_sha256, finding_key(f.rule, f.sheet, f.cell, f.row_number))
            not in accepted
        ]
        kept += [
            Finding.of_file(result.file_name, p["rule"], "warning", p["message"])
            for p in extra.get(result.file_sha256, ())
        ]
        changed = kept != result.findings
        out.append((replace(result, findings=kept) if changed else result, changed))
    return out


def _correction_workbook(job: tuple[ReturnResult, Path]) -> Path:
    result, path = job
    return write_correction_workbook(result, path)


def write_year_overview(engine, year: int, folder: Path, progress: Progress = quiet) -> Path:
    """The stewards' workbook of ``year``: completeness, decisions to take, every finding.

    Findings of superseded (or excluded) submissions are left out: a later return fixed them;
    the plausibility warnings of the year come with the findings (``plausibility_rows``).
    A workbook that already holds what these rows give (``fingerprint.refresh``) is left as it
    is; one a steward filled in place is kept beside the new one, and ``progress`` told.
    """
    completeness = read_table(engine, "completeness", year)
    submissions = read_table(engine, "submission", year)
    findings = read_table(engine, "validation_failure", year)
    live = submissions.loc[~submissions["status"].isin(GONE), "submission_id"]
    findings = findings.loc[findings["submission_id"].isin(live)]
    plausible_table = read_table(engine, "plausibility_finding", year)
    plausible = plausibility_rows(plausible_table, submissions)
    accepted = read_accepted_findings(engine, year)
    sha = dict(zip(submissions["submission_id"], submissions["file_sha256"], strict=True))
    findings = findings.assign(
        accepted=[
            (sha.get(s), finding_key(r, sh, c, n)) in accepted
            for s, r, sh, c, n in findings[
                ["submission_id", "rule", "sheet", "cell", "row_number"]
            ].itertuples(index=False, name=None)
        ]
    )
    if len(plausible):
        keys = zip(plausible_table["file_sha256"], plausible_table["finding_key"], strict=True)
        plausible["accepted"] = [key in accepted for key in keys]
        findings = pd.concat([findings, plausible], ignore_index=True)
    names = {c.code: c.label for c in default_nomenclature().centres}
    # dated by when the year's data last changed (a return received, a decision recorded)
    moments = [*submissions["received_at"], last_decided_at(engine, year)]
    as_of = max((m for m in moments if m is not None), default=None)
    folder.mkdir(parents=True, exist_ok=True)
    remove_leftovers(folder)
    out = folder / OVERVIEW_FILE_NAME.format(year=year)
    inputs = {
        "year": year,
        "completeness": completeness,
        "findings": findings,
        "out": out,
        "centre_names": names,
        "pending": pending(engine, year),
        "as_of": as_of,
        "last_decision": last_decision_id(engine, year),
    }
    fingerprint = inputs_fingerprint("steward_overview", inputs)
    refresh(
        [out],
        fingerprint,
        lambda: write_steward_overview(**inputs),
        lambda _, aside: progress(f"The overview was filled in place: kept as {aside}"),
    )
    return out


GONE = ("superseded", "excluded")
"""Statuses of submissions whose findings no longer concern anybody."""
NO_FILE = "(aucun fichier)"
"""What the overview says in place of a file name for a centre that sent nothing."""


def plausibility_rows(plausible: pd.DataFrame, submissions: pd.DataFrame) -> pd.DataFrame:
    """``plausibility_finding`` rows as rows of ``validation_failure`` (a file-level warning)."""
    names = dict(zip(submissions["submission_id"], submissions["file_name"], strict=True))
    return pd.DataFrame(
        {
            "submission_id": plausible["submission_id"],
            "year": plausible["year"],
            "centre_code": plausible["centre_code"],
            "file_name": [names.get(s, NO_FILE) for s in plausible["submission_id"]],
            "rule": plausible["rule"],
            "severity": "warning",
            "message": plausible["message"],
        },
        columns=[*FINDING_FIELDS, "submission_id", "centre_code", "year"],
        dtype=object,
    )
