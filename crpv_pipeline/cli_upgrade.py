"""``crpv upgrade``: bring the warehouse schema to this version's before running, and say how.

Belongs here: the command's options, its output (from which revision to which, each revision
applied) and its exit codes: 0 upgraded or already up to date, 2 a warehouse newer than this
code or a URL that cannot be opened, 3 any other failure. Stays out: the upgrade itself
(``warehouse.schema.upgrade_warehouse``, which every run also calls first), turning errors into
``Error: …`` lines (``cli``).
"""

from __future__ import annotations

import argparse

from crpv_pipeline import settings
from crpv_pipeline.cli_checks import EXIT_OK, EXIT_USAGE, CliError, openable_warehouse


def add_upgrade_command(sub) -> None:
    """Declare ``crpv upgrade`` on the subcommands ``sub`` of ``crpv``."""
    upgrade = sub.add_parser(
        "upgrade",
        help="upgrade the warehouse schema to this version's (every run also does it first)",
        description=(
            "Apply the schema revisions this version of crpv-pipeline has and the warehouse "
            "has not, in one transaction under the warehouse's write lock, then update the "
            "reference lists and the BI views; print from which revision to which. A warehouse "
            "made before schema versioning is recognised first. Exit 2 when the warehouse is "
            "newer than this version."
        ),
    )
    upgrade.add_argument(
        "--warehouse",
        metavar="URL",
        help="warehouse URL (default: $CRPV_WAREHOUSE_URL or the embedded SQLite file)",
    )
    upgrade.add_argument(
        "--dry-run", action="store_true", help="say what would be applied, change nothing"
    )
    upgrade.set_defaults(func=cmd_upgrade)


def cmd_upgrade(args: argparse.Namespace) -> int:
    import sqlalchemy as sa

    from crpv_pipeline.warehouse.engine import WarehouseError, create_warehouse_engine, sqlite_file
    from crpv_pipeline.warehouse.migrate import SchemaTooNew
    from crpv_pipeline.warehouse.schema import upgrade_warehouse

    url = settings.warehouse_url(args.warehouse)
    openable_warehouse(url)
    database = sqlite_file(sa.make_url(url))
    if database is not None and not database.is_file():  # a typo must not create a warehouse
        raise CliError(
            f"no warehouse at {database}: `crpv run` or `crpv demo` creates one", EXIT_USAGE
        )
    engine = create_warehouse_engine(url)
    try:
        upgrade = upgrade_warehouse(engine, dry_run=args.dry_run)
    except SchemaTooNew as err:
        raise CliError(str(err), EXIT_USAGE) from err
    except WarehouseError as err:
        raise CliError(str(err)) from err
    finally:
        engine.dispose()
    for line in upgrade.lines(dry_run=args.dry_run):
        print(line)
    return EXIT_OK
