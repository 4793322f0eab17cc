"""``crpv validate``: returns read and validated without any database, findings printed or written.

Belongs here: which files are validated (folders expanded as the pipeline lists them), for which
year, and the findings as text, CSV (a cell that looks like a formula is written as text) or
JSON, and correction workbooks (``--report``). Nothing heavy is imported before the command
runs, and never Dagster nor SQLAlchemy. Its errors and exit codes are those of ``cli``.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import asdict
from pathlib import Path

from crpv_pipeline.cli_checks import (
    EXIT_INVALID,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    returns_to_validate,
    say,
    writable_file,
    writable_folder,
    write_failed,
)


def cmd_validate(args: argparse.Namespace) -> int:
    from crpv_pipeline.intake.file_guards import limits_from_environment
    from crpv_pipeline.intake.validation import validate_return
    from crpv_pipeline.model import FINDING_FIELDS
    from crpv_pipeline.reference.refdata import default_nomenclature
    from crpv_pipeline.reference.statuses import SEVERITY_LABELS

    try:
        limits = limits_from_environment()
    except ValueError as err:
        raise CliError(str(err), EXIT_USAGE) from err
    files, notes = returns_to_validate(args.files)
    for note in notes:
        say(note)
    if args.report and Path(args.report).suffix.lower() == ".xlsx":
        writable_file(Path(args.report), "--report")
    elif args.report:
        writable_folder(Path(args.report), "--report")
    results = []
    for path in files:
        year = args.year if args.year is not None else _folder_year(path)
        results.append(validate_return(path, year, limits))
    if args.report:
        _write_reports(results, Path(args.report))
    out = sys.stdout
    rule_label = default_nomenclature().rule_label  # people read the label, programs the id
    if args.format == "json":
        json.dump(
            [
                {
                    "file": str(r.path),
                    "centre_code": r.centre_code,
                    "year": r.year,
                    "status": r.status,
                    "rows_read": r.rows_read,
                    "rows_loaded": r.rows_loaded,
                    "n_errors": r.n_errors,
                    "n_warnings": r.n_warnings,
                    "findings": [
                        asdict(f) | {"rule_label": rule_label(f.rule)} for f in r.findings
                    ],
                }
                for r in results
            ],
            out,
            ensure_ascii=False,
            indent=2,
        )
        out.write("\n")
    elif args.format == "csv":
        writer = csv.writer(out)
        writer.writerow((*FINDING_FIELDS, "rule_label"))
        for r in results:
            for f in r.findings:
                values = (*(getattr(f, name) for name in FINDING_FIELDS), rule_label(f.rule))
                writer.writerow(_csv_text(value) for value in values)
    else:  # text from the returns, file names included, with its control characters written out
        from crpv_pipeline.intake.control_characters import escape_controls as shown

        for r in results:
            out.write(
                f"{shown(r.path)}: {r.status} — centre {r.centre_code or '?'}, "
                f"année {r.year or '?'}, {r.rows_loaded}/{r.rows_read} lignes chargeables, "
                f"{r.n_errors} erreur(s), {r.n_warnings} avertissement(s)\n"
            )
            for f in r.findings:
                label = SEVERITY_LABELS[f.severity].lower()
                out.write(
                    f"  {shown(f.location)} [{label}] {rule_label(f.rule)} : {shown(f.message)}\n"
                )
    return EXIT_INVALID if any(r.n_errors for r in results) else EXIT_OK


def _write_reports(results, report: Path) -> None:
    """Correction workbooks: ``report`` is the .xlsx for one file, or a folder for several.

    In a folder, only returns with findings get one; a file name given twice (from two
    folders) gets a workbook per path.
    """
    from collections import Counter

    from crpv_pipeline.outputs.corrections import correction_file_name, write_correction_workbook

    if len(results) == 1 and report.suffix.lower() == ".xlsx":
        targets = [(results[0], report)]
    elif report.suffix:
        raise CliError(
            f"--report {report}: give a folder when validating several files", EXIT_USAGE
        )
    else:
        for r in results:
            if not r.findings:
                say(f"No correction workbook for {r.path}: nothing to correct")
        names = Counter(r.path.name for r in results)
        targets = [
            (r, report / correction_file_name(r, _path_key(r.path, names[r.path.name])))
            for r in results
            if r.findings
        ]
    for result, target in targets:
        if not target.parent.is_dir() and target.parent != report:
            raise CliError(f"no such folder: {target.parent}", EXIT_USAGE)
        try:
            written = write_correction_workbook(result, target)
        except OSError as err:
            raise write_failed(target, "--report", err) from err
        say(f"Correction workbook written: {written}")


def _path_key(path: Path, times_given: int) -> str | None:
    """What names a file's correction workbook: its name, or its path if the name repeats."""
    return str(path.resolve()) if times_given > 1 else None


def _csv_text(value: object) -> object:
    """Text a spreadsheet opening the CSV must not run as a formula: ``=1+1`` → ``'=1+1``."""
    if isinstance(value, str) and value.lstrip()[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _folder_year(path: Path) -> int | None:
    """The inbox year of a file under ``<inbox>/<year>/``, else None."""
    parent = path.resolve().parent.name
    return int(parent) if parent.isdigit() and len(parent) == 4 else None
