"""The ``crpv`` command line (contract §6): demo, run, validate, template, report.

Only this module turns exceptions into ``Error: …`` lines and exit codes: 0 success, 1 invalid
input found, 2 usage error, 3 pipeline failure. Heavy imports (Dagster, SQLAlchemy) happen
inside the commands that need them, so ``crpv validate`` stays fast and never touches a database.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from crpv_pipeline import CONTRACT_VERSION, __version__
from crpv_pipeline.cli_checks import (
    UsageError,
    environment_help,
    openable_warehouse,
    returns_to_validate,
    writable_file,
    writable_folder,
    write_failed,
)
from crpv_pipeline.control_characters import escape_controls

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_FAILURE = 0, 1, 2, 3
DEFAULT_DEMO_INBOX = "crpv_demo_inbox"
DEMO_YEARS = (2019, 2020, 2021)


class CliError(Exception):
    """An expected failure, shown as ``Error: …`` with its exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILURE):
        super().__init__(message)
        self.code = code


def _warehouse_url(arg: str | None) -> str:
    from crpv_pipeline.warehouse import DEFAULT_WAREHOUSE_URL

    return arg or os.environ.get("CRPV_WAREHOUSE_URL") or DEFAULT_WAREHOUSE_URL


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def cmd_validate(args: argparse.Namespace) -> int:
    from crpv_pipeline.file_guards import limits_from_environment
    from crpv_pipeline.model import FINDING_FIELDS
    from crpv_pipeline.refdata import default_nomenclature
    from crpv_pipeline.validation import validate_return

    try:
        limits = limits_from_environment(os.environ)
    except ValueError as err:
        raise CliError(str(err), EXIT_USAGE) from err
    files, notes = returns_to_validate(args.files)
    for note in notes:
        _say(note)
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
        from crpv_pipeline.control_characters import escape_controls as shown

        for r in results:
            out.write(
                f"{shown(r.path)}: {r.status} — centre {r.centre_code or '?'}, "
                f"année {r.year or '?'}, {r.rows_loaded}/{r.rows_read} lignes chargeables, "
                f"{r.n_errors} erreur(s), {r.n_warnings} avertissement(s)\n"
            )
            for f in r.findings:
                label = "erreur" if f.severity == "error" else "avertissement"
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

    from crpv_pipeline.corrections import correction_file_name, write_correction_workbook

    if len(results) == 1 and report.suffix.lower() == ".xlsx":
        targets = [(results[0], report)]
    elif report.suffix:
        raise CliError(
            f"--report {report}: give a folder when validating several files", EXIT_USAGE
        )
    else:
        for r in results:
            if not r.findings:
                _say(f"No correction workbook for {r.path}: nothing to correct")
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
        _say(f"Correction workbook written: {written}")


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


def cmd_run(args: argparse.Namespace) -> int:
    from crpv_pipeline.runs import materialize_year
    from crpv_pipeline.summary import national_summary

    inbox = Path(args.inbox or os.environ.get("CRPV_INBOX") or "inbox")
    _known_year(args.year)
    if not (inbox / str(args.year)).is_dir():
        raise CliError(f"no inbox folder for {args.year}: {inbox / str(args.year)}", EXIT_USAGE)
    url = _warehouse_url(args.warehouse)
    _destinations(url, args.output)
    _run(materialize_year, args.year, inbox, url, args.output)
    print(national_summary(url, args.year))
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from crpv_pipeline.demo import DemoInboxNotEmpty, write_demo_inbox
    from crpv_pipeline.runs import materialize_year
    from crpv_pipeline.summary import national_summary

    inbox = Path(args.inbox or os.environ.get("CRPV_INBOX") or DEFAULT_DEMO_INBOX)
    url = _warehouse_url(args.warehouse)
    _destinations(url, args.output)
    _say(f"Writing the synthetic demo returns into {inbox}/ …")
    try:
        write_demo_inbox(inbox, years=DEMO_YEARS)
    except DemoInboxNotEmpty as err:
        raise CliError(str(err), EXIT_USAGE) from err
    for year in DEMO_YEARS:
        _say(f"Running the pipeline for {year} into {url} …")
        _run(materialize_year, year, inbox, url, args.output)
    for year in DEMO_YEARS:
        print(national_summary(url, year))
        print()
    return EXIT_OK


def cmd_template(args: argparse.Namespace) -> int:
    from crpv_pipeline.template import TemplateError, write_template

    out = Path(args.output or f"{args.centre.upper()}_{args.year}.xlsx")
    writable_file(out, "-o")
    try:
        path = write_template(args.centre, args.year, out)
    except TemplateError as err:
        raise CliError(str(err), EXIT_USAGE) from err
    except OSError as err:
        raise write_failed(out, "-o", err) from err
    _say(f"Template written: {path}")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from crpv_pipeline.report import REPORT_FILE_NAME, NoDataForYear, write_report
    from crpv_pipeline.warehouse import WarehouseError, create_warehouse_engine

    out = Path(args.output or REPORT_FILE_NAME.format(year=args.year))
    if out.suffix.lower() not in (".html", ".htm"):
        raise CliError(f"-o {out}: the report is an .html file", EXIT_USAGE)
    writable_file(out, "-o")
    url = _warehouse_url(args.warehouse)
    openable_warehouse(url)
    _require_sqlite_file(url)
    try:
        engine = create_warehouse_engine(url)
        try:
            page, workbook = write_report(engine, args.year, out)
        finally:
            engine.dispose()
    except NoDataForYear as err:
        raise CliError(str(err), EXIT_USAGE) from err
    except WarehouseError as err:
        raise CliError(str(err)) from err
    except OSError as err:
        raise write_failed(out, "-o", err) from err
    _say(f"Report written: {page}")
    _say(f"Tables written: {workbook}")
    return EXIT_OK


def _require_sqlite_file(url: str) -> None:
    """A SQLite warehouse to read must exist: opening a missing file would create it empty."""
    import sqlalchemy as sa

    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        return  # create_warehouse_engine says what is wrong with it
    database = parsed.database if parsed.get_backend_name() == "sqlite" else None
    if database and database != ":memory:" and not database.startswith("file:"):
        if not Path(database).expanduser().is_file():
            raise CliError(
                f"no warehouse at {database}: run `crpv demo` or `crpv run` first", EXIT_USAGE
            )


def _known_year(year: int) -> None:
    """``year`` is one of the pipeline's partitions (2015 … the current year)."""
    from crpv_pipeline.assets import YEARS

    keys = YEARS.get_partition_keys()
    if str(year) not in keys:
        raise UsageError(f"--year {year}: the pipeline runs the years {keys[0]} to {keys[-1]}")


def _destinations(url: str, output: str | None) -> None:
    """Before anything is read or loaded: the warehouse URL opens, the output folder is writable."""
    openable_warehouse(url)
    if output:
        writable_folder(Path(output), "--output")
    else:
        writable_folder(Path(os.environ.get("CRPV_OUTPUT") or "crpv_output"), "CRPV_OUTPUT")


def _run(materialize_year, year: int, inbox: Path, url: str, output: str | None) -> None:
    from crpv_pipeline.runs import RunFailed

    try:
        materialize_year(year, inbox, url, progress=_say, output=Path(output) if output else None)
    except RunFailed as err:
        raise CliError(str(err)) from err


def _destination_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--warehouse",
        metavar="URL",
        help="warehouse URL (default: $CRPV_WAREHOUSE_URL or the embedded SQLite file)",
    )
    parser.add_argument(
        "--output",
        metavar="DIR",
        help=(
            "where correction workbooks and the stewards' overview go, per year "
            "(default: $CRPV_OUTPUT or ./crpv_output)"
        ),
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crpv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=textwrap.fill(
            "CRPV pipeline: read the resource centres' yearly activity returns, validate them, "
            "load them into the warehouse and derive the national bilan "
            f"(contract v{CONTRACT_VERSION}).",
            width=78,
        ),
        epilog=(
            environment_help()
            + "\n\n"
            + textwrap.fill(
                "exit status: 0 success, 1 invalid input found (validate), 2 usage error (a"
                " wrong option or variable, a year outside the partitions, an output that"
                " cannot be written, a warehouse URL that cannot be opened), 3 pipeline"
                " failure.",
                width=78,
            )
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser(
        "demo",
        help="write a synthetic demo inbox (2019–2021) and run the pipeline on it",
        description=(
            "Write synthetic returns for every expected centre, years 2019–2021, with a few "
            "realistic mistakes, run the pipeline for each year and print the national summary."
        ),
    )
    demo.add_argument(
        "--inbox",
        help=f"where to write the returns (default: $CRPV_INBOX or ./{DEFAULT_DEMO_INBOX})",
    )
    _destination_options(demo)
    demo.set_defaults(func=cmd_demo)

    run = sub.add_parser(
        "run",
        help="materialise one year's partition through Dagster, in process",
        description=(
            "Read <inbox>/<year>/, validate every return, load the warehouse and rebuild the "
            "year's derived tables, as the Dagster assets of that year's partition."
        ),
    )
    run.add_argument("--year", type=int, required=True, help="the reported year, e.g. 2021")
    run.add_argument(
        "--inbox", help="inbox folder holding <year>/ (default: $CRPV_INBOX or ./inbox)"
    )
    _destination_options(run)
    run.set_defaults(func=cmd_run)

    validate = sub.add_parser(
        "validate",
        help="dry run: read and validate returns, write nothing",
        description=(
            "Read and validate returns without touching any database. Exit 1 if any error is "
            "found (a rejected file or a quarantined row), 0 otherwise."
        ),
    )
    validate.add_argument("files", nargs="+", metavar="FILE", help="returns to check")
    validate.add_argument(
        "--year",
        type=int,
        help="the year the files must report (default: the <year>/ folder they are in, if any)",
    )
    validate.add_argument("--format", choices=("text", "json", "csv"), default="text")
    validate.add_argument(
        "--report",
        metavar="OUT",
        help=(
            "also write the correction workbook: OUT.xlsx for one file, or a folder that "
            "receives one workbook per file with findings (nothing is written to any database)"
        ),
    )
    validate.set_defaults(func=cmd_validate)

    template = sub.add_parser(
        "template",
        help="write an empty return for a centre, with drop-down lists",
        description=(
            "Write the .xlsx return a centre fills in: Identification pre-filled and locked, "
            "the Activités sheet with its header protected, drop-down lists for every category "
            "column and checks on dates and numbers, all from the same reference data as the "
            "validator."
        ),
    )
    template.add_argument("--centre", required=True, metavar="CODE", help="centre code, e.g. IREV")
    template.add_argument("--year", type=int, required=True, help="the year to report, e.g. 2021")
    template.add_argument(
        "-o", "--output", metavar="FILE", help="where to write it (default: ./<CODE>_<YEAR>.xlsx)"
    )
    template.set_defaults(func=cmd_template)

    report = sub.add_parser(
        "report",
        help="write the national bilan of a year as an HTML page and an .xlsx workbook",
        description=(
            "Write the national bilan of a year from the warehouse: a self-contained HTML page "
            "in French (headline figures, charts, tables, data-quality annex) and its tables as "
            "an .xlsx workbook with the same name. Exit 2 when the warehouse has no data for "
            "the year."
        ),
    )
    report.add_argument("--year", type=int, required=True, help="the reported year, e.g. 2021")
    report.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="the HTML file to write (default: ./bilan_<YEAR>.html); the .xlsx goes next to it",
    )
    report.add_argument(
        "--warehouse",
        metavar="URL",
        help="warehouse URL (default: $CRPV_WAREHOUSE_URL or the embedded SQLite file)",
    )
    report.set_defaults(func=cmd_report)
    return parser


def _without_data_synthesis() -> None:
    """Keep Pandera from importing Hypothesis in this process.

    When Hypothesis is installed (it is a test tool of this project), Pandera imports it on the
    first validation to offer data synthesis, which ``crpv`` never uses: 0.13 s of a 0.6 s
    ``crpv validate``. A process that already imported it keeps it.
    """
    sys.modules.setdefault("hypothesis", None)  # None in sys.modules: "not installed"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``crpv`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if argv is None:  # the console script's own process (tests pass their arguments)
        _without_data_synthesis()
    try:
        return args.func(args)
    except CliError as err:
        print(f"Error: {escape_controls(str(err))}", file=sys.stderr)
        return err.code
    except UsageError as err:
        print(f"Error: {escape_controls(str(err))}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
