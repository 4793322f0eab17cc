"""The analysts' browser (``crpv browse``): the SQLite warehouse in datasette, read-only.

Belongs here: which warehouse can be browsed (a SQLite file that exists; PostgreSQL is for BI
tools), datasette's metadata built from the data dictionary (descriptions of tables, views and
columns; the label shown for a code, from each dimension's label column; facets and sort
orders; undocumented tables hidden; a French title and introduction), and starting datasette on
127.0.0.1 with connections opened ``?mode=ro``. Stays out: parsing the DDL (``dictionary``),
turning errors into ``Error:`` lines and exit codes (``cli``), writing anything to the warehouse.
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import threading
import time
import webbrowser
from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import quote

from crpv_pipeline.warehouse.catalogue import BI_VIEWS
from crpv_pipeline.warehouse.dictionary import bi_view_name, data_dictionary, view_docs

HOST = "127.0.0.1"
"""datasette listens on the loopback interface only: it has no login."""
DEFAULT_PORT = 8001
"""datasette's own default port."""
SETTINGS = {
    "facet_time_limit_ms": 1000,
    "sql_time_limit_ms": 5000,
    "max_returned_rows": 100_000,
}
"""datasette's settings: time to count a facet (its default, 200 ms, is short on a busy machine)
and to run a query, and rows a query or an export may return (its default, 1 000, would cut the
« CSV » export of the activities of a few years without a word)."""
BI_TOOLS_SECTION = "README, « For BI tools: the warehouse »"

TITLE = "Entrepôt des bilans CRPV"
DESCRIPTION = (
    "Bilans d'activité annuels des centres de ressources politique de la ville (CRPV), en lecture"
    " seule. Commencez par les vues bi_… : une par sujet, libellés en français (bi_activities :"
    " les activités ; bi_validation_failures : les anomalies relevées dans les bilans ;"
    " bi_completeness : qui a transmis). Dans les tables, un code renvoyant à une liste de"
    " référence s'affiche avec son libellé. Filtrez avec les facettes, triez en cliquant sur un"
    " en-tête de colonne, exportez en CSV avec le lien « CSV » au-dessus du tableau. Les"
    " descriptions des tables et des colonnes sont celles du dictionnaire de données"
    " (docs/data_dictionary.md)."
)

COMPACT_DESCRIPTIONS_CSS = (
    "dl.column-descriptions{display:grid;grid-template-columns:max-content auto;"
    "column-gap:1.5em;row-gap:.15em;font-size:.85em}"
    "dl.column-descriptions dt{font-weight:600}dl.column-descriptions dd{margin:0}"
)
"""The column descriptions as a two-column list (name, description) above each table, instead
of one line each, so that the rows stay in sight; sent inline, as a ``data:`` URL."""

LABEL_COLUMNS = ("label", "name", "title", "file_name")
"""The column datasette shows for a row that a foreign key points to: the first of these that a
table has (``dim_*``: ``label``, ``dim_centre``: ``name``; a submission: its file name)."""

FACETS = {
    "fact_activity": ("year", "centre_code", "activity_type_code", "modality_code", "theme_code"),
    "fact_activity_public": ("public_code",),
    "validation_failure": ("year", "centre_code", "rule", "severity"),
    "submission": ("year", "centre_code", "status"),
    "completeness": ("year", "status", "received_on_time"),
    "load_run": ("year",),
    "activity_counts": ("year", "centre_code", "activity_type_code", "modality_code"),
    "theme_shares": ("year",),
    "modality_shares": ("year", "activity_type_code"),
    "yearly_summary": (),
    "yearly_trend": (),
    "plausibility_finding": ("year", "centre_code", "rule"),
    "steward_decision": ("year", "centre_code", "decision"),
    "archive_activity": ("year", "centre_code", "submission_id"),
    "archive_activity_public": ("public_code",),
}
"""Facets shown above each table: the year and the codes a table is read by (shown with their
labels, through the foreign keys)."""

VIEW_FACETS = {
    "activities": ("year", "centre_name", "activity_type", "modality", "theme", "pillar"),
    "activity_publics": ("year", "public"),
    "activity_counts": ("year", "centre_name", "activity_type", "modality"),
    "theme_shares": ("year", "pillar"),
    "modality_shares": ("year", "activity_type"),
    "yearly_summary": (),
    "yearly_trend": (),
    "completeness": ("year", "status_label"),
    "submissions": ("year", "centre_name", "status_label"),
    "validation_failures": (
        "year",
        "centre_name",
        "rule_label",
        "severity_label",
        "submission_status",
    ),
    "plausibility_findings": ("year", "centre_name", "rule_label", "accepted"),
    "steward_decisions": ("year", "centre_name", "decision_label", "in_force"),
}
"""Facets shown above each BI view (by its name in ``BI_VIEWS``): views have no foreign keys,
so they are faceted by the French labels they join in."""


class BrowseError(ValueError):
    """A warehouse or a port ``crpv browse`` cannot serve, said in one line."""


def browsable_file(url: str) -> Path:
    """The SQLite file of the warehouse ``url``, which must exist; else ``BrowseError``.

    ``url`` is one ``create_warehouse_engine`` accepts (``cli`` checks that first).
    """
    import sqlalchemy as sa

    from crpv_pipeline.warehouse.engine import sqlite_file

    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "sqlite":
        shown = parsed.render_as_string(hide_password=True)
        raise BrowseError(
            f"crpv browse serves a SQLite warehouse with datasette, and {shown} is"
            f" {parsed.get_backend_name()}: connect a BI tool to it with the read-only role"
            f" instead ({BI_TOOLS_SECTION})"
        )
    path = sqlite_file(parsed)
    if path is None:
        raise BrowseError(
            f"crpv browse needs the path of a SQLite file (sqlite:///crpv_warehouse.sqlite),"
            f" not {url}"
        )
    if not path.is_file():
        raise BrowseError(f"no warehouse at {path}: run `crpv demo` or `crpv run` first")
    return path.resolve()


def database_name(path: Path) -> str:
    """The name datasette gives the database of ``path`` (in its URLs and its metadata)."""
    return path.stem


def documented_names() -> tuple[str, ...]:
    """The tables and SQLite views the data dictionary describes."""
    return (
        *(t.name for t in data_dictionary()),
        *(bi_view_name(name, "sqlite") for name in BI_VIEWS),
    )


def warehouse_names(path: Path) -> list[str]:
    """The tables and views in the SQLite file ``path``, read through a read-only connection."""
    uri = f"{path.as_uri()}?mode=ro"
    connection = sqlite3.connect(uri, uri=True)
    try:
        rows = connection.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name"
        ).fetchall()
    finally:
        connection.close()
    return [name for (name,) in rows]


def _sort(columns: Iterable[str]) -> dict[str, str]:
    names = set(columns)
    if "sort_order" in names:
        return {"sort": "sort_order"}
    if "year" in names:
        return {"sort_desc": "year"}
    return {}


def metadata(name: str, present: Iterable[str] = ()) -> dict:
    """The metadata of datasette for the warehouse served as database ``name``.

    Every table and BI view of the data dictionary gets its description, its columns'
    descriptions, its facets and a sort order (dimensions in list order, the rest latest year
    first); a table gets the label column of ``LABEL_COLUMNS`` it has. Any table or view of
    ``present`` (those in the file) that the dictionary does not describe is hidden.
    """
    tables: dict[str, dict] = {}
    for table in data_dictionary():
        entry = {
            "description": table.description,
            "columns": {c.name: c.description for c in table.columns},
            **_sort(table.column_names),
        }
        label = next((c for c in LABEL_COLUMNS if c in table.column_names), None)
        if label is not None:
            entry["label_column"] = label
        if FACETS.get(table.name):
            entry["facets"] = list(FACETS[table.name])
        tables[table.name] = entry
    for view in view_docs():
        entry = {
            "description": view.description,
            "columns": {c.name: c.description for c in view.columns},
            **_sort(view.column_names),
        }
        if VIEW_FACETS.get(view.name):
            entry["facets"] = list(VIEW_FACETS[view.name])
        tables[bi_view_name(view.name, "sqlite")] = entry
    for other in sorted(set(present) - set(tables)):
        if not other.startswith("sqlite_"):
            tables[other] = {"hidden": True}
    return {
        "title": TITLE,
        "description": DESCRIPTION,
        "extra_css_urls": ["data:text/css," + quote(COMPACT_DESCRIPTIONS_CSS)],
        "databases": {name: {"title": TITLE, "description": DESCRIPTION, "tables": tables}},
    }


def check_port(port: int) -> None:
    """``port`` of ``HOST`` is free to listen on; else ``BrowseError``."""
    try:
        with socket.create_server((HOST, port)):
            pass
    except OSError as err:
        raise BrowseError(
            f"--port {port}: cannot listen on {HOST}:{port} ({err.strerror or err});"
            " choose another port with --port"
        ) from err


def serve(
    path: Path, port: int, open_browser: bool, progress: Callable[[str], None] = print
) -> None:
    """Serve the warehouse ``path`` with datasette on ``HOST:port`` until interrupted.

    The file is served as a mutable database, which datasette reads through connections opened
    ``?mode=ro``: nothing can be written through it, and a run loading the warehouse meanwhile
    is seen once it commits (``immutable`` would ignore the write-ahead log of a run under way).
    """
    import uvicorn
    from datasette.app import Datasette

    check_port(port)
    name = database_name(path)
    document = metadata(name, warehouse_names(path))
    datasette = Datasette([str(path)], metadata=document, settings=SETTINGS)
    asyncio.run(datasette.invoke_startup())
    url = f"http://{HOST}:{port}/{name}"
    progress(f"Browsing {path} read-only at {url} (Ctrl+C to stop)")
    if open_browser:
        threading.Thread(target=_open_when_listening, args=(url, port), daemon=True).start()
    uvicorn.run(datasette.app(), host=HOST, port=port, log_level="info", lifespan="on")


def _open_when_listening(url: str, port: int, patience: float = 60) -> None:
    """Open ``url`` in the default web browser once the server accepts connections."""
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        try:
            socket.create_connection((HOST, port), timeout=1).close()
        except OSError:
            time.sleep(0.1)
            continue
        webbrowser.open(url)
        return
