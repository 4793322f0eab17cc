"""Which warehouse tables and BI views there are, and in what order: read from ``sql/`` at import.

Belongs here: the ``sql/`` folder itself, the tables of ``sql/schema`` (one statement per file,
file name = table name; ``index_*`` files hold indexes) in an order where every table comes after
the tables it references, and their kinds: the dimensions (``dim_*``), the tables a load writes,
the archive of superseded activities (``archive_*``), the derived tables (those with a
``sql/derived/<table>.sql``, each after the derived tables its SELECT reads, and
``COMPUTED_TABLES``), the tables of stewards' decisions (``steward_*``); the BI views of
``sql/bi`` (file name = view name), in the order of the tables they show. Adding a table or a
view is adding its file. Stays out: what the tables, views and columns mean
(``dictionary`` parses the comments), running SQL (``schema``, ``bi``, ``derive``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path

INDEX_PREFIX = "index_"
"""``sql/schema`` files whose name starts with this hold one CREATE INDEX statement each."""
DIMENSION_PREFIX = "dim_"
STEWARD_PREFIX = "steward_"
"""``sql/schema`` tables whose name starts with this are written by stewards' decisions, never by
a run (``steward_decision``)."""
ARCHIVE_PREFIX = "archive_"
"""``sql/schema`` tables whose name starts with this keep what left ``fact_activity`` when a
return was superseded (``archive``): written with the load, read only to put a return back."""

_REFERENCES = re.compile(r"\breferences\s+([a-z_][a-z0-9_]*)", re.I)
_COMMENT = re.compile(r"--[^\n]*")
_FROM = re.compile(r"^\s*from\s+([a-z_][a-z0-9_]*)", re.I | re.M)


def sql_dir() -> Path:
    """The ``sql/`` folder: shipped in the wheel as ``crpv_pipeline/sql``, else the repository's."""
    packaged = resources.files("crpv_pipeline") / "sql"
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "sql"


def index_names() -> tuple[str, ...]:
    """Names of the ``sql/schema/index_*.sql`` files, sorted."""
    folder = sql_dir() / "schema"
    return tuple(sorted(p.stem for p in folder.glob(f"{INDEX_PREFIX}*.sql")))


def _statements(folder: str, names: Iterable[str] | None = None) -> dict[str, str]:
    """``name → SQL without its comments`` of the ``sql/<folder>/*.sql`` files, by name."""
    paths = sorted((sql_dir() / folder).glob("*.sql"))
    return {
        p.stem: _COMMENT.sub("", p.read_text(encoding="utf-8"))
        for p in paths
        if (names is None or p.stem in names) and not p.stem.startswith(INDEX_PREFIX)
    }


def dependency_order(
    names: Iterable[str], needs: Callable[[str], set[str]], rank: Callable[[str], int]
) -> tuple[str, ...]:
    """``names`` so that each comes after those it ``needs``; among the ready ones, by rank, name.

    A name needing one of a higher rank, or names needing each other, raise ``ValueError``.
    """
    waiting = sorted(names, key=lambda n: (rank(n), n))
    done: list[str] = []
    while waiting:
        ready = [n for n in waiting if needs(n) <= set(done)]
        if not ready:
            raise ValueError(f"sql/: tables referencing each other: {', '.join(waiting)}")
        name = ready[0]
        if any(rank(other) > rank(name) for other in needs(name)):
            raise ValueError(f"sql/: {name} references a table of a later kind")
        done.append(name)
        waiting.remove(name)
    return tuple(done)


COMPUTED_TABLES = ("plausibility_finding",)
"""Derived tables computed in Python (``warehouse.plausibility``: medians, deviations) rather
than by a SELECT of ``sql/derived``; rebuilt with the others, in the same transaction."""


def _views(tables: tuple[str, ...]) -> tuple[str, ...]:
    """The views of ``sql/bi``, in the order of the table each shows (its first ``from``)."""
    shown = {}
    for name, select in _statements("bi").items():
        source = _FROM.search(select)
        if source is None or source.group(1) not in tables:
            raise ValueError(f"sql/bi/{name}.sql: its first 'from' names no table of sql/schema")
        shown[name] = tables.index(source.group(1))
    return tuple(sorted(shown, key=lambda name: (shown[name], name)))


def _catalogue() -> tuple[tuple[str, ...], tuple[str, ...]]:
    schema = _statements("schema")
    derived = _statements("derived") | {name: "" for name in COMPUTED_TABLES}
    if not set(derived) <= set(schema):
        raise ValueError(f"sql/derived: no table in sql/schema for {set(derived) - set(schema)}")

    def rank(name: str) -> int:
        return 0 if name.startswith(DIMENSION_PREFIX) else 2 if name in derived else 1

    def references(name: str) -> set[str]:
        return {t for t in _REFERENCES.findall(schema[name]) if t != name}

    def reads(name: str) -> set[str]:
        return {t for t in derived if t != name and re.search(rf"\b{t}\b", derived[name])}

    tables = dependency_order(schema, references, rank)
    return tables, dependency_order(derived, reads, lambda _: 0)


SCHEMA_TABLES, DERIVED_TABLES = _catalogue()
"""Every warehouse table, referenced tables first; the derived tables, in the order they are
rebuilt (each after the derived tables it reads)."""
BI_VIEWS = _views(SCHEMA_TABLES)
"""The views for BI tools, one per subject, from ``sql/bi/<name>.sql`` (one SELECT each), in
the order of the tables they show (``SCHEMA_TABLES``), then by name."""
DIMENSIONS = tuple(t for t in SCHEMA_TABLES if t.startswith(DIMENSION_PREFIX))
"""The dimension tables, filled from the reference lists."""
STEWARD_TABLES = tuple(t for t in SCHEMA_TABLES if t.startswith(STEWARD_PREFIX))
"""The tables stewards' decisions write (``crpv review``), kept across runs and rebuilds."""
ARCHIVE_TABLES = tuple(t for t in SCHEMA_TABLES if t.startswith(ARCHIVE_PREFIX))
"""The activities of superseded submissions, kept to put a return back in force (``archive``)."""
LOADED_TABLES = tuple(
    t
    for t in SCHEMA_TABLES
    if t not in DIMENSIONS + DERIVED_TABLES + STEWARD_TABLES + ARCHIVE_TABLES
)
"""The tables a run writes while it loads returns (``submission``, ``fact_activity``, …), each
an asset of its own; the archive, written in the same transactions, is not one."""
READS_PREVIOUS_YEAR = ("yearly_trend", "plausibility_finding")
"""Derived tables whose row for a year reads the previous year's figures: deriving a year also
rebuilds the next year's rows (when that year is derived), whatever order years are run in."""
