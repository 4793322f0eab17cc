"""``crpv browse``: the SQLite warehouse in datasette, read-only, for analysts.

Belongs here: the command's options and exit codes (0 when the server is stopped, 2 for a
warehouse that is not a SQLite file or does not exist, or a port in use). Stays out: building and
serving datasette (``warehouse.browse``), turning errors into ``Error: …`` lines (``cli``).
"""

from __future__ import annotations

import argparse

from crpv_pipeline import settings
from crpv_pipeline.cli_checks import EXIT_OK, EXIT_USAGE, CliError, openable_warehouse, say


def cmd_browse(args: argparse.Namespace) -> int:
    from crpv_pipeline.warehouse.browse import BrowseError, browsable_file, serve

    url = settings.warehouse_url(args.warehouse)
    openable_warehouse(url)
    try:
        serve(browsable_file(url), port=args.port, open_browser=args.open, progress=say)
    except BrowseError as err:
        raise CliError(str(err), EXIT_USAGE) from err
    return EXIT_OK


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1 to 65535)")
    return int(text)


def add_browse_command(sub) -> None:
    """Declare ``crpv browse`` on the subcommands ``sub`` of ``crpv``."""
    from crpv_pipeline.warehouse.browse import DEFAULT_PORT, HOST

    browse = sub.add_parser(
        "browse",
        help="browse the SQLite warehouse in datasette, read-only, in a web browser",
        description=(
            f"Serve the SQLite warehouse with datasette on http://{HOST}:PORT/, read-only (its "
            "connections are opened ?mode=ro), until Ctrl+C. Tables and BI views show the "
            "descriptions of the data dictionary, codes show their French label, the findings "
            "and the activities have facets (centre, rule, severity, year...), and any table "
            "or query can be exported as CSV or JSON. It listens on 127.0.0.1 only (datasette "
            "has no login). A PostgreSQL warehouse is not served: connect a BI tool to it with "
            "the read-only role (README, For BI tools). Exit 2 for a warehouse that is not a "
            "SQLite file or does not exist, or a port already in use."
        ),
    )
    browse.add_argument(
        "--warehouse",
        metavar="URL",
        help="warehouse URL (default: $CRPV_WAREHOUSE_URL or the embedded SQLite file)",
    )
    browse.add_argument(
        "--port",
        type=_port,
        metavar="PORT",
        default=DEFAULT_PORT,
        help=f"port to listen on, on {HOST} (default: {DEFAULT_PORT})",
    )
    browse.add_argument(
        "--open",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="open the page in the default web browser (default: --open)",
    )
    browse.set_defaults(func=cmd_browse)
