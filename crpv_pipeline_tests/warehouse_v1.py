"""The warehouses release 1 wrote (``fixtures/warehouse_v1``), loaded into a test's database."""

from __future__ import annotations

import importlib.util
import sqlite3
from pathlib import Path

import sqlalchemy as sa

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "warehouse_v1"

RELEASE_1_TABLES = (
    "dim_activity_type",
    "dim_centre",
    "dim_modality",
    "dim_public",
    "dim_theme",
    "submission",
    "fact_activity",
    "fact_activity_public",
    "load_run",
    "validation_failure",
    "activity_counts",
    "completeness",
    "modality_shares",
    "theme_shares",
    "yearly_summary",
    "yearly_trend",
)


def load_warehouse_v1(url: str) -> None:
    """Fill the empty database at ``url`` with the dump release 1's warehouse gave."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        connection = sqlite3.connect(parsed.database)
        try:
            connection.executescript((FIXTURES / "warehouse_v1.sqlite.sql").read_text("utf-8"))
        finally:
            connection.close()
    else:
        _load_pg_dump(parsed, FIXTURES / "warehouse_v1.postgres.sql")


def _load_pg_dump(url: sa.URL, path: Path) -> None:
    """Run a plain ``pg_dump`` file as psql would: SQL, and ``COPY … FROM stdin`` blocks."""
    import psycopg

    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        chunk: list[str] = []
        lines = iter(path.read_text("utf-8").splitlines(keepends=True))
        for line in lines:
            if line.startswith("\\"):  # psql's meta-commands (\restrict)
                continue
            if line.startswith("COPY ") and line.rstrip().endswith("FROM stdin;"):
                conn.execute("".join(chunk))
                chunk = []
                with conn.cursor().copy(line.rstrip().removesuffix(";")) as copy:
                    for data in lines:
                        if data == "\\.\n":
                            break
                        copy.write(data)
            else:
                chunk.append(line)
        conn.execute("".join(chunk))


def resubmit_oriv(inbox: Path) -> None:
    """Correct ORIV's 2021 demo return as the fixtures' maker did before its last run."""
    spec = importlib.util.spec_from_file_location(
        "make_warehouse_v1", FIXTURES / "make_warehouse_v1.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module._resubmit_oriv(inbox)


def row_counts(engine: sa.Engine) -> dict[str, int]:
    """Rows of every table release 1 had."""
    with engine.connect() as conn:
        return {t: conn.scalar(sa.text(f"SELECT count(*) FROM {t}")) for t in RELEASE_1_TABLES}


def rows(engine: sa.Engine, query: str) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(query)).mappings()]
