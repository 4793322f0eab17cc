"""The data dictionary of the warehouse, parsed from the comments of ``sql/schema`` and ``sql/bi``.

The DDL files are the single source of every table and column description: this module reads
them (table comment on the first line, one ``-- description`` per column line) and turns them
into PostgreSQL ``COMMENT ON`` statements; ``dictionary_page`` renders them as the Markdown
page ``docs/data_dictionary.md``. The BI views of ``sql/bi`` are described the same way (a view
column that is a plain ``table.column`` without its own comment takes that column's
description); ``bi`` builds the statements that create them. Which tables there are, and their
order, comes from ``catalogue``. It executes nothing and holds no description of its own;
running SQL belongs to ``schema`` and ``loading``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from crpv_pipeline.warehouse.catalogue import (
    BI_VIEWS,
    DERIVED_TABLES,
    INDEX_PREFIX,
    READS_PREVIOUS_YEAR,
    SCHEMA_TABLES,
    index_names,
    sql_dir,
)

__all__ = [
    "BI_VIEWS",
    "DERIVED_TABLES",
    "INDEX_PREFIX",
    "READS_PREVIOUS_YEAR",
    "SCHEMA_TABLES",
    "index_names",
    "sql_dir",
]


BI_SCHEMA = "bi"
"""PostgreSQL schema holding the BI views (``bi.activities``)."""

BI_SQLITE_PREFIX = "bi_"
"""SQLite has no schemas: the BI views are named with this prefix (``bi_activities``)."""

SQL_TYPES = ("double precision", "timestamp", "boolean", "integer", "bigint", "text", "date")
"""The portable column types allowed in the DDL (they mean the same on SQLite and PostgreSQL)."""

_CONSTRAINT_START = re.compile(r"^(primary\s+key|foreign\s+key|unique|check|constraint)\b", re.I)
_CREATE = re.compile(r"^create\s+table\s+if\s+not\s+exists\s+([a-z_][a-z0-9_]*)\s*\($", re.I)
_COLUMN = re.compile(
    r"^(?P<name>[a-z_][a-z0-9_]*)\s+(?P<type>" + "|".join(SQL_TYPES) + r")\b(?P<rest>.*)$", re.I
)
_TABLE_KEY = re.compile(r"^primary\s+key\s*\((?P<cols>[^)]*)\)", re.I)
_VIEW_COLUMN = re.compile(r"^(?P<expr>.*?)\s*\bas\s+(?P<name>[a-z_][a-z0-9_]*)\s*,?$", re.I)
_PLAIN_SOURCE = re.compile(r"^(?P<table>[a-z_][a-z0-9_]*)\.(?P<column>[a-z_][a-z0-9_]*)$")


class DictionaryError(ValueError):
    """A schema file that does not follow the layout this module parses."""


@dataclass(frozen=True)
class ColumnDoc:
    """One column of a warehouse table, as declared and described in its DDL file."""

    name: str
    sql_type: str
    description: str
    nullable: bool
    primary_key: bool

    @property
    def type(self) -> str:
        """The declared SQL type, upper case (``TEXT``, ``DOUBLE PRECISION``...)."""
        return self.sql_type


@dataclass(frozen=True)
class TableDoc:
    """One warehouse table: its description (with its grain) and its ordered columns."""

    name: str
    description: str
    columns: tuple[ColumnDoc, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def primary_key(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.primary_key)


@dataclass(frozen=True)
class ViewColumnDoc:
    """One output column of a BI view: its name, where it comes from and its description."""

    name: str
    source: str
    description: str


@dataclass(frozen=True)
class ViewDoc:
    """One BI view: its description (with its grain), its columns and its SELECT."""

    name: str
    description: str
    columns: tuple[ViewColumnDoc, ...]
    select: str

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def schema_sql(name: str) -> str:
    """The text of ``sql/schema/<name>.sql``; ``name`` must be a table or an index file."""
    if name not in SCHEMA_TABLES and name not in index_names():
        raise DictionaryError(f"no schema file for {name!r}")
    return (sql_dir() / "schema" / f"{name}.sql").read_text(encoding="utf-8")


def _split_comment(line: str) -> tuple[str, str | None]:
    code, sep, comment = line.partition("--")
    return code.strip(), comment.strip() if sep else None


def parse_table_sql(name: str, text: str) -> TableDoc:
    """Parse one ``CREATE TABLE`` file: leading comment, then one column per line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    header: list[str] = []
    while lines and lines[0].startswith("--"):
        header.append(lines.pop(0)[2:].strip())
    if not header:
        raise DictionaryError(f"sql/schema/{name}.sql: the first line must be a -- description")
    created = _CREATE.match(lines[0]) if lines else None
    if created is None or created.group(1) != name:
        raise DictionaryError(
            f"sql/schema/{name}.sql: expected 'create table if not exists {name} (' after the"
            " description"
        )
    columns: list[dict] = []
    table_key: tuple[str, ...] = ()
    for line in lines[1:]:
        code, comment = _split_comment(line)
        if code.startswith(")"):
            break
        key = _TABLE_KEY.match(code)
        if key:
            table_key = tuple(c.strip() for c in key.group("cols").split(","))
            continue
        if _CONSTRAINT_START.match(code):
            continue
        column = _COLUMN.match(code.rstrip(","))
        if column is None:
            raise DictionaryError(f"sql/schema/{name}.sql: cannot read the column line {line!r}")
        rest = column.group("rest").lower()
        columns.append(
            {
                "name": column.group("name"),
                "sql_type": column.group("type").upper(),
                "description": comment or "",
                "nullable": "not null" not in rest and "primary key" not in rest,
                "primary_key": "primary key" in rest,
            }
        )
    names = [c["name"] for c in columns]
    unknown = set(table_key) - set(names)
    if unknown:
        raise DictionaryError(f"sql/schema/{name}.sql: primary key names unknown {sorted(unknown)}")
    for column in columns:
        if column["name"] in table_key:
            column["primary_key"] = True
            column["nullable"] = False
    return TableDoc(name, " ".join(header), tuple(ColumnDoc(**c) for c in columns))


@cache
def data_dictionary() -> tuple[TableDoc, ...]:
    """Every warehouse table, parsed from its DDL file, in dependency order."""
    return tuple(parse_table_sql(name, schema_sql(name)) for name in SCHEMA_TABLES)


def load_dictionary() -> dict[str, TableDoc]:
    """Every warehouse table by name, in dependency order."""
    return {table.name: table for table in data_dictionary()}


def table_doc(name: str) -> TableDoc:
    """The parsed description of one warehouse table."""
    for table in data_dictionary():
        if table.name == name:
            return table
    raise DictionaryError(f"{name!r} is not a warehouse table")


def sql_literal(text: str) -> str:
    """``text`` as a SQL string literal: single quotes doubled (standard SQL escaping)."""
    if "\x00" in text:
        raise DictionaryError("a SQL literal cannot hold a NUL character")
    return "'" + text.replace("'", "''") + "'"


def comment_statements(tables: Sequence[TableDoc] | None = None) -> list[str]:
    """``COMMENT ON TABLE/COLUMN`` statements (PostgreSQL) for every table and column.

    COMMENT ON takes no bind parameter, so the text is written as an escaped literal; the
    identifiers come from the parsed DDL, which only admits ``[a-z_][a-z0-9_]*`` names.
    """
    statements = []
    for table in tables if tables is not None else data_dictionary():
        statements.append(f"COMMENT ON TABLE {table.name} IS {sql_literal(table.description)}")
        for column in table.columns:
            statements.append(
                f"COMMENT ON COLUMN {table.name}.{column.name} IS {sql_literal(column.description)}"
            )
    return statements


def parse_view_sql(name: str, text: str) -> ViewDoc:
    """Parse one ``sql/bi`` file: leading comment, ``select``, one output column per line.

    An output column is a line ending with ``as <name>`` (expressions may start on the lines
    above); its ``-- description`` may be left out when it is a plain ``table.column`` of the
    warehouse, whose description it then takes. The select list ends at the ``from`` line.
    """
    where = f"sql/bi/{name}.sql"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    header: list[str] = []
    while lines and lines[0].startswith("--"):
        header.append(lines.pop(0)[2:].strip())
    if not header:
        raise DictionaryError(f"{where}: the first line must be a -- description")
    if not lines or lines[0].lower() != "select":
        raise DictionaryError(f"{where}: expected 'select' alone on the line after the description")
    columns: list[ViewColumnDoc] = []
    expression: list[str] = []
    for line in lines[1:]:
        code, comment = _split_comment(line)
        if code.lower().startswith("from "):
            break
        column = _VIEW_COLUMN.match(code)
        if column is None:
            if comment:
                raise DictionaryError(f"{where}: a description must end an 'as <name>' line")
            expression.append(code)
            continue
        source = " ".join([*expression, column.group("expr")]).strip()
        expression = []
        columns.append(ViewColumnDoc(column.group("name"), source, comment or _inherited(source)))
        if not columns[-1].description:
            raise DictionaryError(f"{where}: describe the column {column.group('name')!r}")
    else:
        raise DictionaryError(f"{where}: no 'from' line after the select list")
    statement = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
    return ViewDoc(name, " ".join(header), tuple(columns), statement.strip().rstrip(";").rstrip())


def _inherited(source: str) -> str:
    """The description of a plain ``table.column`` source, else empty."""
    plain = _PLAIN_SOURCE.match(source)
    if plain is None or plain.group("table") not in SCHEMA_TABLES:
        return ""
    columns = {c.name: c.description for c in table_doc(plain.group("table")).columns}
    return columns.get(plain.group("column"), "")


@cache
def view_docs() -> tuple[ViewDoc, ...]:
    """Every BI view, parsed from ``sql/bi/<name>.sql``, in the order of ``BI_VIEWS``."""
    folder = sql_dir() / "bi"
    return tuple(
        parse_view_sql(name, (folder / f"{name}.sql").read_text(encoding="utf-8"))
        for name in BI_VIEWS
    )


def view_doc(name: str) -> ViewDoc:
    """The parsed description of one BI view."""
    for view in view_docs():
        if view.name == name:
            return view
    raise DictionaryError(f"{name!r} is not a BI view ({', '.join(BI_VIEWS)})")


def bi_view_name(name: str, dialect: str) -> str:
    """The name a BI view has in the database: ``bi.<name>`` on PostgreSQL, else ``bi_<name>``."""
    if name not in BI_VIEWS:
        raise DictionaryError(f"{name!r} is not a BI view ({', '.join(BI_VIEWS)})")
    return f"{BI_SCHEMA}.{name}" if dialect == "postgresql" else f"{BI_SQLITE_PREFIX}{name}"
