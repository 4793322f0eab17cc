"""Where PostgreSQL spends a load: the server's per-row checks of foreign keys against indexes.

Run: ``python -m benchmarks.pg_load [--rows 200000] [--admin-url URL]``. It creates a scratch
database with the warehouse schema, then copies the same synthetic activities (and two publics
each) into ``fact_activity`` and ``fact_activity_public`` several ways, each in a transaction
rolled back afterwards, and prints the seconds each took:

- as the schema declares it (every key checked by the server, row by row);
- without each foreign key in turn (what that key costs);
- without any foreign key (what the indexes and the rows themselves cost);
- without the covering index of ``fact_activity``, keys kept;
- through ``bulk_insert`` as the pipeline loads (keys checked in one query each, then the
  ``COPY`` in replica mode: ``crpv_pipeline.warehouse.references``).

The figures quoted in ``PROFILES.md`` come from it. The scratch database is dropped at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import secrets
import sys
import time
from collections.abc import Callable

import psycopg
import sqlalchemy as sa

from crpv_pipeline.warehouse.bulk import bulk_insert
from crpv_pipeline.warehouse.schema import ensure_schema, schema_table

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PUBLIC_COLUMNS = ("activity_id", "public_code")


def _rows(conn: psycopg.Connection, n: int) -> tuple[list[str], list[tuple], list[tuple]]:
    """``n`` activities of submission 1 (random codes of the dimensions) and two publics each."""
    rng = random.Random(2021)

    def codes(table: str, column: str) -> list[str]:
        return [r[0] for r in conn.execute(f"select {column} from {table} order by 1")]

    types = codes("dim_activity_type", "activity_type_code")
    modalities, themes = codes("dim_modality", "modality_code"), codes("dim_theme", "theme_code")
    publics, centre = codes("dim_public", "public_code"), codes("dim_centre", "centre_code")[0]
    conn.execute(
        "insert into submission (submission_id, year, centre_code, file_name, file_sha256, "
        "status, received_at, loaded_at, run_id, rows_read, rows_loaded, rows_rejected, "
        "n_errors, n_warnings) values (1, 2021, %s, 'bench.xlsx', 'bench', 'loaded', now(), "
        "now(), 'bench', %s, %s, 0, 0, 0)",
        (centre, n, n),
    )
    conn.commit()
    columns = list(schema_table("fact_activity").c.keys())
    values = {
        "submission_id": 1,
        "year": 2021,
        "centre_code": centre,
        "department": "93",
        "partners": None,
        "comment": None,
        "source_sheet": "Activités",
    }
    activities = []
    for i in range(1, n + 1):
        values.update(
            activity_id=i,
            source_row=i + 5,
            activity_date=dt.date(2021, 1 + i % 12, 1 + i % 28),
            title=f"Atelier {i}",
            activity_type_code=rng.choice(types),
            modality_code=rng.choice(modalities),
            theme_code=rng.choice(themes),
            half_days=1 + i % 6,
            participants=i % 40 or None,
        )
        activities.append(tuple(values[c] for c in columns))
    pairs = [(i, p) for i in range(1, n + 1) for p in rng.sample(publics, 2)]
    return columns, activities, pairs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000, help="activities copied each way")
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL, help="a superuser's URL")
    args = parser.parse_args(argv)
    name = f"crpv_pg_load_{secrets.token_hex(4)}"
    with psycopg.connect(args.admin_url, autocommit=True) as admin:
        admin.execute(f"create database {name}")
    url = sa.make_url(args.admin_url).set(database=name)
    engine = sa.create_engine(url.set(drivername="postgresql+psycopg"))
    try:
        ensure_schema(engine)
        with psycopg.connect(url.render_as_string(hide_password=False)) as conn:
            _measure(conn, engine, *_rows(conn, args.rows), args.rows)
    finally:
        engine.dispose()
        with psycopg.connect(args.admin_url, autocommit=True) as admin:
            admin.execute(f"drop database if exists {name} with (force)")
    return 0


def _measure(conn, engine, columns, activities, pairs, n: int) -> None:
    cursor = conn.cursor()

    def copy(table: str, cols, rows) -> None:
        with cursor.copy(f"copy {table} ({', '.join(cols)}) from stdin") as out:
            for row in rows:
                out.write_row(row)

    def timed(label: str, before: Callable[[], None] = lambda: None) -> None:
        before()
        start = time.perf_counter()
        copy("fact_activity", columns, activities)
        middle = time.perf_counter()
        copy("fact_activity_public", PUBLIC_COLUMNS, pairs)
        end = time.perf_counter()
        conn.rollback()
        print(f"| {label} | {middle - start:.2f} | {end - middle:.2f} | {end - start:.2f} |")

    keys = cursor.execute(
        "select conname, conrelid::regclass::text, pg_get_constraintdef(oid) from pg_constraint "
        "where contype = 'f' and conrelid in ('fact_activity'::regclass, "
        "'fact_activity_public'::regclass) order by 2, 1"
    ).fetchall()
    conn.commit()
    print(f"{n:,} activities, {len(pairs):,} publics (seconds)\n")
    print("| copied | fact_activity | fact_activity_public | both |\n|---|---:|---:|---:|")
    timed("as declared: every key checked by the server, row by row")

    def drop(table: str, key: str) -> Callable[[], None]:
        return lambda: cursor.execute(f"alter table {table} drop constraint {key}")

    for key, table, definition in keys:
        timed(f"without `{table}` {definition.split(' REFERENCES ')[0].lower()}", drop(table, key))

    def no_keys() -> None:
        for key, table, _ in keys:
            drop(table, key)()

    timed("without any foreign key (primary keys and the covering index kept)", no_keys)
    timed(
        "without the covering index of fact_activity (keys kept)",
        lambda: cursor.execute("drop index index_fact_activity_year_covering"),
    )
    start = time.perf_counter()
    with engine.begin() as sa_conn:
        bulk_insert(sa_conn, "fact_activity", columns, activities)
        middle = time.perf_counter()
        bulk_insert(sa_conn, "fact_activity_public", PUBLIC_COLUMNS, pairs)
        end = time.perf_counter()
        sa_conn.rollback()
    print(
        "| `bulk_insert`: each key checked in one query, the COPY in replica mode | "
        f"{middle - start:.2f} | {end - middle:.2f} | {end - start:.2f} |"
    )


if __name__ == "__main__":
    sys.exit(main())
