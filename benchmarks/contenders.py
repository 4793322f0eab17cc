"""What the benchmark races, each run in a fresh child process by ``harness``.

- ``naive``: what a user would write instead — ``pandas.read_excel`` (openpyxl) of each return,
  every cell as text, then ``DataFrame.to_sql``; no validation, no publics, no derived tables.
- ``floor``: the least any loader must do — read the cells with python-calamine, then write
  every row with one bulk statement (``executemany`` on SQLite, ``COPY`` on PostgreSQL). A file
  calamine cannot open, or without an ``Activités`` sheet, is skipped (a bad year has some).
- ``stages``: the pipeline's own functions called one after the other in one process, each
  stage timed (read, normalise, validate — per return —, load — per return —, derive).
- ``warehouse``: the whole pipeline, read → derive, through Dagster in process: the assets of
  the warehouse (``runs.WAREHOUSE_ASSETS``), what the naive script and the floor produce too.
- ``dagster``: every asset of the year's partition materialised through Dagster in process, as
  ``crpv run`` does: the warehouse, the correction workbooks and the bilan for people.

Each prints one JSON line: seconds of work (imports and start-up excluded), rows written,
stage seconds. Run as ``python -m benchmarks.contenders NAME CORPUS_ROOT YEAR URL WORKDIR``.
The harness also races ``crpv run --year`` itself, the console script as a user runs it: it is
no function of this module.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

NAIVE_TABLE = "naive_activities"
FLOOR_TABLE = "floor_activities"
HEADER_ROW = 2  # 0-based: a title row, a blank row, then the header (corpus.write_return)


def _files(inbox: Path, year: int) -> list[Path]:
    return sorted((inbox / str(year)).glob("*.xlsx"))


def naive(inbox: Path, year: int, url: str, workdir: Path) -> dict:
    import pandas as pd
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    start = time.perf_counter()
    rows = 0
    for path in _files(inbox, year):
        # Every cell as text: centres write dates and numbers both ways, which breaks typed
        # columns (a Timestamp SQLite cannot bind, a number where PostgreSQL expects text).
        frame = pd.read_excel(
            path, sheet_name="Activités", header=HEADER_ROW, engine="openpyxl", dtype=str
        )
        frame.to_sql(NAIVE_TABLE, engine, if_exists="append", index=False)
        rows += len(frame)
    seconds = time.perf_counter() - start
    engine.dispose()
    return {"seconds": seconds, "rows": rows}


def _activity_cells(path: Path) -> list[list] | None:
    """The cells of the return's ``Activités`` sheet; None when calamine cannot read them."""
    import python_calamine

    try:
        workbook = python_calamine.CalamineWorkbook.from_path(str(path))
    except python_calamine.CalamineError:  # not a workbook
        return None
    try:
        return workbook.get_sheet_by_name("Activités").to_python()
    except python_calamine.CalamineError:  # no sheet of activities
        return None
    finally:
        workbook.close()


def floor(inbox: Path, year: int, url: str, workdir: Path) -> dict:
    import python_calamine  # noqa: F401 - imported before the clock starts, as the others' imports
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    columns = [f"c{i}" for i in range(11)]
    typed = " TEXT" if engine.dialect.name == "postgresql" else ""  # SQLite: any value
    definition = ", ".join(c + typed for c in columns)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE {FLOOR_TABLE} ({definition})")
    start = read_start = time.perf_counter()
    rows: list[tuple] = []
    skipped = 0
    for path in _files(inbox, year):
        cells = _activity_cells(path)
        if cells is None:
            skipped += 1
            continue
        rows.extend(tuple((list(r) + [None] * 11)[:11]) for r in cells[HEADER_ROW + 1 :])
    read_seconds = time.perf_counter() - read_start
    write_start = time.perf_counter()
    with engine.begin() as conn:
        dbapi = conn.connection.dbapi_connection
        cursor = dbapi.cursor()
        if engine.dialect.name == "postgresql":
            with cursor.copy(f"COPY {FLOOR_TABLE} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in columns)
            cursor.executemany(f"INSERT INTO {FLOOR_TABLE} VALUES ({marks})", rows)
        cursor.close()
    write_seconds = time.perf_counter() - write_start
    seconds = time.perf_counter() - start
    engine.dispose()
    return {
        "seconds": seconds,
        "rows": len(rows),
        "stages": {"read": read_seconds, "write": write_seconds},
        "skipped_files": skipped,
    }


def stages(inbox: Path, year: int, url: str, workdir: Path) -> dict:
    from crpv_pipeline.intake.inbox import inbox_files
    from crpv_pipeline.intake.timing import add_seconds
    from crpv_pipeline.reference.refdata import default_nomenclature
    from crpv_pipeline.warehouse.derive import derive_year
    from crpv_pipeline.warehouse.engine import create_warehouse_engine
    from crpv_pipeline.warehouse.schema import ensure_schema
    from crpv_pipeline.year.load import load_year
    from crpv_pipeline.year.validate import validate_year

    engine = create_warehouse_engine(url)
    start = time.perf_counter()
    ensure_schema(engine, default_nomenclature())
    files = inbox_files(inbox, year)
    results = validate_year(files, year)  # one process: each stage timed per return
    seconds = add_seconds(r.stage_seconds for r in results)
    load_start = time.perf_counter()
    load_year(engine, files, results, "bench")
    seconds["load"] = time.perf_counter() - load_start
    derive_start = time.perf_counter()
    derive_year(engine, year)
    seconds["derive"] = time.perf_counter() - derive_start
    total = time.perf_counter() - start
    engine.dispose()
    return {"seconds": total, "rows": sum(r.rows_loaded for r in results), "stages": seconds}


def warehouse(inbox: Path, year: int, url: str, workdir: Path) -> dict:
    from crpv_pipeline.orchestration.runs import WAREHOUSE_ASSETS

    return dagster(inbox, year, url, workdir, WAREHOUSE_ASSETS)


def dagster(inbox: Path, year: int, url: str, workdir: Path, assets=None) -> dict:
    from crpv_pipeline.orchestration.runs import materialize_year
    from crpv_pipeline.warehouse.engine import create_warehouse_engine
    from crpv_pipeline.warehouse.tables import count_rows

    start = time.perf_counter()
    result = materialize_year(year, inbox, url, output=workdir / "output", assets=assets)
    seconds = time.perf_counter() - start
    steps = {}
    for event in result.all_events:
        if event.is_step_success and event.step_key:
            steps[event.step_key] = event.event_specific_data.duration_ms / 1000
    engine = create_warehouse_engine(url)
    rows = count_rows(engine, "fact_activity", year)
    engine.dispose()
    return {"seconds": seconds, "rows": rows, "stages": steps}


CONTENDERS = {
    "naive": naive,
    "floor": floor,
    "stages": stages,
    "warehouse": warehouse,
    "dagster": dagster,
}


def main(argv: list[str]) -> int:
    name, inbox, year, url, workdir = argv
    outcome = CONTENDERS[name](Path(inbox), int(year), url, Path(workdir))
    import resource

    outcome["self_max_rss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print("BENCH-RESULT " + json.dumps(outcome), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
