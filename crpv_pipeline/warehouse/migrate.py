"""Versioning the warehouse schema with Alembic: which revision a warehouse is at, and upgrading.

Belongs here: the Alembic configuration, built in code (the revisions of ``migrations/versions``
shipped in the package, the version table ``crpv_schema_version``; no ``alembic.ini``), telling
the revision a warehouse is at, recognising a warehouse made before versioning (tables, no
version table) and stamping it at the revision it has, refusing a warehouse newer than this
code, and applying the pending revisions on a connection the caller holds in its write
transaction (all of them or none). Stays out: the write transaction and its lock (``engine``),
what follows an upgrade, dimensions and BI views (``schema``), the DDL of each revision
(``migrations``); ``sql/schema`` states the schema the last revision gives.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util.exc import CommandError
from sqlalchemy.engine import Connection

from crpv_pipeline.warehouse.catalogue import SCHEMA_TABLES, index_names
from crpv_pipeline.warehouse.dictionary import schema_sql
from crpv_pipeline.warehouse.engine import WarehouseError

__all__ = [
    "VERSION_TABLE",
    "SchemaTooNew",
    "SchemaTooOld",
    "SchemaUpgrade",
    "apply_upgrade",
    "head_revision",
    "plan_upgrade",
    "run_revisions",
]

VERSION_TABLE = "crpv_schema_version"
"""The table where Alembic records the revision of the warehouse schema (one row)."""

SCRIPT_LOCATION = "crpv_pipeline.warehouse:migrations"
"""The migrations shipped in the package (``env.py``, ``versions/``)."""

RELEASE_1 = "0001"
"""The revision of the schema release 1 created: the oldest a warehouse may be recognised at."""

_CREATE = re.compile(r"create table if not exists ([a-z_][a-z0-9_]*) \((.*?)\n\);", re.S)
_COLUMN = re.compile(
    r"^\s+([a-z_][a-z0-9_]*) (?:text|integer|bigint|date|timestamp|double precision|boolean)\b",
    re.M,
)


class SchemaTooNew(WarehouseError):
    """The warehouse is at a revision this code does not know: newer software upgraded it."""


class SchemaTooOld(WarehouseError):
    """The warehouse has tables of a version before release 1 and no version table."""


@dataclass(frozen=True)
class SchemaUpgrade:
    """What an upgrade found and did (or would do): revisions as ``(id, title)``."""

    found: str | None
    """The revision in the version table; None when there is none (empty or unversioned)."""
    recognised: str | None
    """For a warehouse made before versioning: the revision it was stamped at."""
    applied: tuple[tuple[str, str], ...]
    """The revisions applied (or to apply), oldest first."""
    head: str
    """The newest revision this code knows."""
    created: bool = False
    """An empty warehouse: created from ``sql/schema`` and stamped at ``head``."""

    @property
    def start(self) -> str | None:
        """The revision the warehouse was at before the upgrade (None: empty)."""
        return self.found or self.recognised

    def lines(self, dry_run: bool = False) -> list[str]:
        """What happened, for people (``crpv upgrade``)."""
        start = self.start or "empty"
        lines = []
        if self.recognised:
            lines.append(
                f"Warehouse made before schema versioning: recognised at revision"
                f" {self.recognised}{' (it would be stamped)' if dry_run else ', stamped'}."
            )
        if self.created:
            verb = "would be created" if dry_run else "created"
            lines.append(f"Empty warehouse: schema {verb} at revision {self.head}.")
            return lines
        if not self.applied:
            lines.append(f"Warehouse schema at revision {start}, the newest: nothing to upgrade.")
            return lines
        verb = "to be upgraded" if dry_run else "upgraded"
        lines.append(f"Warehouse schema {verb} from revision {start} to {self.head}:")
        lines += [f"  {rev}  {title}" for rev, title in self.applied]
        return lines


@cache
def scripts() -> ScriptDirectory:
    """The revisions shipped in the package (read once per process)."""
    return ScriptDirectory.from_config(_config())


def head_revision() -> str:
    """The newest revision this code knows."""
    return scripts().get_current_head()


def _config(conn: Connection | None = None, applied: list | None = None) -> Config:
    """An Alembic ``Config`` built in code: the packaged migrations, the caller's connection."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if conn is not None:
        config.attributes["connection"] = conn
    if applied is not None:
        config.attributes["on_version_apply"] = lambda **kw: applied.append(kw["step"])
    return config


def current_revision(conn: Connection) -> str | None:
    """The revision in the version table of the warehouse, None when it has none."""
    context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def _title(revision: str) -> str:
    doc = scripts().get_revision(revision).module.__doc__ or ""
    first = doc.strip().splitlines()[0] if doc.strip() else ""
    return first.split(": ", 1)[-1].replace("``", "").rstrip(".")


def plan_upgrade(conn: Connection) -> SchemaUpgrade:
    """What upgrading the warehouse on ``conn`` to the newest revision takes; writes nothing.

    ``SchemaTooNew`` when its version table names a revision this code does not know;
    ``SchemaTooOld`` when it has tables of a version before release 1 and no version table.
    """
    found = current_revision(conn)
    head = head_revision()
    if found is not None:
        try:
            scripts().get_revision(found)
        except (CommandError, RevisionError) as err:
            raise SchemaTooNew(
                f"the warehouse schema is at revision {found}, which this version of"
                f" crpv-pipeline does not know (it knows up to {head}): the warehouse was"
                " upgraded by a newer version; upgrade crpv-pipeline"
            ) from err
    recognised = _recognise(conn) if found is None else None
    if found is None and recognised is None:
        return SchemaUpgrade(None, None, (), head, created=True)
    pending = scripts().iterate_revisions("head", found or recognised)
    applied = tuple((s.revision, _title(s.revision)) for s in reversed(list(pending)))
    return SchemaUpgrade(found, recognised, applied, head)


def apply_upgrade(conn: Connection, upgrade: SchemaUpgrade) -> SchemaUpgrade:
    """Create, or stamp and upgrade, the warehouse on ``conn`` as ``upgrade`` (just planned) says.

    Runs in the caller's transaction: it commits all or nothing. An empty warehouse is created
    from ``sql/schema`` and stamped at the newest revision (Alembic's recipe for a new
    database; ``crpv_pipeline_tests/warehouse/test_migrations.py`` proves that the revisions
    give the same schema). Returns what was applied.
    """
    if upgrade.created:
        for name in SCHEMA_TABLES + index_names():
            conn.exec_driver_sql(schema_sql(name), execution_options={"no_parameters": True})
        command.stamp(_config(conn), "head")
        return upgrade
    if upgrade.recognised:
        command.stamp(_config(conn), upgrade.recognised)
    if not upgrade.applied:
        return upgrade
    done = run_revisions(conn, "head")
    return SchemaUpgrade(upgrade.found, upgrade.recognised, done, upgrade.head)


def run_revisions(conn: Connection, target: str = "head") -> tuple[tuple[str, str], ...]:
    """Apply the revisions from the warehouse's up to ``target`` on ``conn``; those applied."""
    steps: list = []
    command.upgrade(_config(conn, steps), target)
    return tuple((step.up_revision_id, _title(step.up_revision_id)) for step in steps)


def _release_1_columns() -> dict[str, set[str]]:
    """Every table of release 1 and its columns, read from revision 0001's frozen DDL."""
    ddl = "\n".join(scripts().get_revision(RELEASE_1).module.RELEASE_1_DDL)
    return {m.group(1): set(_COLUMN.findall(m.group(2))) for m in _CREATE.finditer(ddl)}


def _recognise(conn: Connection) -> str | None:
    """The revision of a warehouse made before versioning; None when it has no table of ours.

    It must have every table and column release 1 created (``SchemaTooOld`` names the first
    missing one); it is at 0002 when it already has every change of that revision (the
    ad-hoc upgrades of the versions in between made them), else at 0001.
    """
    inspector = sa.inspect(conn)
    tables = set(inspector.get_table_names())
    expected = _release_1_columns()
    if not tables & set(expected):
        return None
    missing = _missing(inspector, tables, expected.items())
    if missing:
        raise SchemaTooOld(
            f"the warehouse has tables of a version before release 1 ({missing} is missing)"
            " and no schema version: upgrade it with release 1 first, or rebuild it"
        )
    return "0002" if scripts().get_revision("0002").module.applied(conn) else RELEASE_1


def _missing(
    inspector: sa.Inspector, tables: set[str], expected: Iterable[tuple[str, set[str]]]
) -> str | None:
    for table, columns in expected:
        if table not in tables:
            return table
        present = {c["name"] for c in inspector.get_columns(table)}
        for column in sorted(columns - present):
            return f"{table}.{column}"
    return None
