"""The ``crpv`` command line (contract §6): demo, run, validate, template, report, browse, upgrade.

Only this module (with ``cli_validate``, ``cli_review``, ``cli_browse`` and ``cli_upgrade``, the
commands of those names) turns exceptions into ``Error: …`` lines and exit codes
(``cli_checks``): 0 success, 1 invalid input found, 2 usage error, 3 pipeline failure, 4 a final
bilan asked for while returns await approval. Heavy imports (Dagster, SQLAlchemy)
happen inside the commands that need them, so ``crpv validate`` stays fast and never touches a
database.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

from crpv_pipeline import CONTRACT_VERSION, __version__, settings
from crpv_pipeline.cli_browse import add_browse_command
from crpv_pipeline.cli_checks import (
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    UsageError,
    environment_help,
    openable_warehouse,
    say,
    writable_file,
    writable_folder,
    write_failed,
)
from crpv_pipeline.cli_review import EXIT_NOT_FINAL, add_review_parser
from crpv_pipeline.cli_upgrade import add_upgrade_command
from crpv_pipeline.intake.control_characters import escape_controls
from crpv_pipeline.intake.inbox import year_folder

DEMO_YEARS = (2019, 2020, 2021)


def _warehouse_url(arg: str | None) -> str:
    return settings.warehouse_url(arg)


def cmd_run(args: argparse.Namespace) -> int:
    from crpv_pipeline.orchestration.runs import materialize_year
    from crpv_pipeline.outputs.summary import national_summary

    inbox = Path(settings.inbox(args.inbox))
    _known_year(args.year)
    folder = year_folder(inbox, args.year)
    if not folder.is_dir():
        raise CliError(f"no inbox folder for {args.year}: {folder}", EXIT_USAGE)
    url = _warehouse_url(args.warehouse)
    _destinations(url, args.output)
    _run(materialize_year, args.year, inbox, url, args.output)
    print(national_summary(url, args.year))
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from crpv_pipeline.demo.returns import DemoInboxNotEmpty, write_demo_inbox
    from crpv_pipeline.orchestration.runs import materialize_year
    from crpv_pipeline.outputs.summary import national_summary

    inbox = Path(settings.inbox(args.inbox, settings.DEFAULT_DEMO_INBOX))
    url = _warehouse_url(args.warehouse)
    _destinations(url, args.output)
    say(f"Writing the synthetic demo returns into {inbox}/ …")
    try:
        write_demo_inbox(inbox, years=DEMO_YEARS)
    except DemoInboxNotEmpty as err:
        raise CliError(str(err), EXIT_USAGE) from err
    for year in DEMO_YEARS:
        say(f"Running the pipeline for {year} into {url} …")
        _run(materialize_year, year, inbox, url, args.output)
    _demo_review(url, DEMO_YEARS[-1])
    say(f"Running the pipeline for {DEMO_YEARS[-1]} again, after the steward's decisions …")
    _run(materialize_year, DEMO_YEARS[-1], inbox, url, args.output)
    for year in DEMO_YEARS:
        print(national_summary(url, year))
        print()
    return EXIT_OK


def _demo_review(url: str, year: int) -> None:
    """The demo's steward accepts a warning and approves what is left with nothing open."""
    from crpv_pipeline.demo.review import take_demo_decisions
    from crpv_pipeline.warehouse.engine import create_warehouse_engine

    engine = create_warehouse_engine(url)
    try:
        done = take_demo_decisions(engine, year)
    finally:
        engine.dispose()
    say(f"A steward's review of {year}: {len(done)} decisions (crpv review --year {year})")


def cmd_template(args: argparse.Namespace) -> int:
    from crpv_pipeline.outputs.template import TemplateError, write_template

    out = Path(args.output or f"{args.centre.upper()}_{args.year}.xlsx")
    writable_file(out, "-o")
    try:
        path = write_template(args.centre, args.year, out)
    except TemplateError as err:
        raise CliError(str(err), EXIT_USAGE) from err
    except OSError as err:
        raise write_failed(out, "-o", err) from err
    say(f"Template written: {path}")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from crpv_pipeline.outputs.report.bilan import NoDataForYear, NotFinal
    from crpv_pipeline.outputs.report.build import REPORT_FILE_NAME, write_report
    from crpv_pipeline.warehouse.engine import WarehouseError, create_warehouse_engine

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
            page, workbook = write_report(engine, args.year, out, args.final, record=False)
        finally:
            engine.dispose()
    except NoDataForYear as err:
        raise CliError(str(err), EXIT_USAGE) from err
    except NotFinal as err:
        raise CliError(str(err), EXIT_NOT_FINAL) from err
    except WarehouseError as err:
        raise CliError(str(err)) from err
    except OSError as err:
        raise write_failed(out, "-o", err) from err
    say(f"Report written: {page}")
    say(f"Tables written: {workbook}")
    return EXIT_OK


def _require_sqlite_file(url: str) -> None:
    """A SQLite warehouse to read must exist: opening a missing file would create it empty."""
    import sqlalchemy as sa

    from crpv_pipeline.warehouse.engine import sqlite_file

    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        return  # create_warehouse_engine says what is wrong with it
    database = sqlite_file(parsed)
    if database is not None and not database.is_file():
        raise CliError(
            f"no warehouse at {parsed.database}: run `crpv demo` or `crpv run` first", EXIT_USAGE
        )


def _known_year(year: int) -> None:
    """``year`` is one of the pipeline's partitions (2015 … the current year)."""
    from crpv_pipeline.orchestration.partitions import YEARS

    keys = YEARS.get_partition_keys()
    if str(year) not in keys:
        raise UsageError(f"--year {year}: the pipeline runs the years {keys[0]} to {keys[-1]}")


def _destinations(url: str, output: str | None) -> None:
    """Before anything is read or loaded: the warehouse URL opens, the output folder is writable."""
    openable_warehouse(url)
    if output:
        writable_folder(Path(output), "--output")
    else:
        writable_folder(Path(settings.output()), settings.OUTPUT)


def _run(materialize_year, year: int, inbox: Path, url: str, output: str | None) -> None:
    from crpv_pipeline.orchestration.runs import RunFailed

    try:
        materialize_year(year, inbox, url, progress=say, output=Path(output) if output else None)
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


def _validate(args: argparse.Namespace) -> int:
    from crpv_pipeline.cli_validate import cmd_validate

    return cmd_validate(args)


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
                " failure, 4 the bilan is not final (report --final while returns await"
                " approval).",
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
        help=(
            f"where to write the returns (default: $CRPV_INBOX or ./{settings.DEFAULT_DEMO_INBOX})"
        ),
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
    validate.set_defaults(func=_validate)

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
            "an .xlsx workbook with the same name; « provisoire » in its title and on every page "
            "while exploitable returns await approval. Exit 2 when the warehouse has no data for "
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
    report.add_argument(
        "--final",
        action="store_true",
        help=(
            "the final bilan: refused (exit 4, naming the centres) while exploitable returns"
            " await a steward's approval (crpv review)"
        ),
    )
    report.set_defaults(func=cmd_report)
    add_browse_command(sub)
    add_upgrade_command(sub)
    add_review_parser(sub)
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
    except BrokenPipeError:
        # The reader went away (``crpv review --year 2021 | head``): stop quietly, as Python's
        # documentation advises, with stdout pointed at devnull so that its flush at exit
        # does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
