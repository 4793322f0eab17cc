"""Concurrency: two runs of a year started together, and a run beside a BI tool's long read.

Either way the warehouse must end exactly as one run leaves it, on SQLite and on PostgreSQL.
"One run" is a warehouse built by a single run of the same inbox; the comparison covers every
table and every column except which run recorded a row and when (``processes.IGNORED_COLUMNS``:
``submission.run_id`` and ``loaded_at``, ``load_run.run_id``, ``started_at`` and ``finished_at``).
"""

import secrets
import threading

import dagster as dg
import pytest
import sqlalchemy as sa

from crpv_pipeline.orchestration.runs import materialize_year
from crpv_pipeline.warehouse.dictionary import bi_view_name
from crpv_pipeline.warehouse.engine import create_warehouse_engine
from crpv_pipeline.warehouse.schema import ensure_schema
from crpv_pipeline_tests.processes import comparable, snapshot, start_crpv_run
from crpv_pipeline_tests.workbooks import VALID_ROW, row, write_return


def run(inbox, url, output):
    return materialize_year(
        2021, inbox, url, instance=dg.DagsterInstance.ephemeral(), output=output
    )


def dialect_of(url: str) -> str:
    return sa.make_url(url).get_backend_name()


@pytest.fixture(scope="module")
def inbox(tmp_path_factory):
    """One inbox for the module (same bytes and dates): loaded, quarantined row, rejected."""
    root = tmp_path_factory.mktemp("shared") / "inbox"
    folder = root / "2021"
    write_return(folder / "IREV_2021.xlsx", [VALID_ROW, row(title="GT GUP", half_days=3)])
    write_return(
        folder / "ORIV_2021.xlsx", [row(title="Colloque"), row(half_days="2,5")], centre="ORIV"
    )
    write_return(folder / "inconnu.xlsx", centre="Centre imaginaire")
    return root


@pytest.fixture(scope="module")
def one_run(inbox, tmp_path_factory, request):
    """The tables (``comparable``) of a warehouse built by a single run, per dialect, built once."""
    built: dict[str, dict] = {}
    databases: list[str] = []

    def tables(dialect: str) -> dict:
        if dialect not in built:
            folder = tmp_path_factory.mktemp(f"one_run_{dialect}")
            if dialect == "sqlite":
                url = f"sqlite:///{folder / 'crpv.sqlite'}"
            else:
                admin = request.getfixturevalue("pg_admin_engine")
                name = f"crpv_test_{secrets.token_hex(6)}"  # hex digits only
                with admin.connect() as conn:
                    conn.exec_driver_sql(f"CREATE DATABASE {name}")
                databases.append(name)
                url = admin.url.set(database=name).render_as_string(hide_password=False)
            run(inbox, url, folder / "out")
            built[dialect] = comparable(snapshot(url))
        return built[dialect]

    yield tables
    if databases:
        admin = request.getfixturevalue("pg_admin_engine")
        with admin.connect() as conn:
            for name in databases:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_two_runs_of_a_year_started_together_end_as_one_run(
    tmp_path, warehouse_url, inbox, one_run
):
    processes = [
        start_crpv_run(2021, inbox, warehouse_url, tmp_path / "out", name=f"run{i}") for i in (1, 2)
    ]
    for process in processes:
        assert process.wait() == 0, process.err()

    tables = comparable(snapshot(warehouse_url))
    expected = one_run(dialect_of(warehouse_url))
    runs = tables.pop("load_run")
    (work,) = expected["load_run"]
    assert tables == {t: rows for t, rows in expected.items() if t != "load_run"}
    # Each run records itself: the one that got the year lock first did the work; the other,
    # waiting on the lock, then found every file recorded and changed nothing.
    assert len(runs) == 2 and work in runs
    (idle,) = [r for r in runs if r != work]
    assert (idle["files_seen"], idle["files_read"], idle["submissions_unchanged"]) == (3, 0, 3)
    assert idle["submissions_loaded"] == idle["submissions_rejected"] == 0


def test_a_run_while_a_bi_query_holds_a_long_read(tmp_path, warehouse_url, inbox, one_run):
    engine = create_warehouse_engine(warehouse_url)
    ensure_schema(engine)
    view = bi_view_name("activities", engine.dialect.name)
    reading, run_done = threading.Event(), threading.Event()
    seen = {}

    def counts(conn):
        return tuple(
            conn.scalar(sa.text(f"select count(*) from {table}"))  # names from the dictionary
            for table in ("fact_activity", view)
        )

    def bi_query():
        options = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name != "sqlite" else {}
        with engine.connect().execution_options(**options) as conn:
            seen["before"] = counts(conn)  # the transaction begins here and stays open
            reading.set()
            seen["held"] = run_done.wait(30)  # a long read: False if the run waited for it
            seen["during"] = counts(conn)
            conn.rollback()

    reader = threading.Thread(target=bi_query)
    reader.start()
    try:
        assert reading.wait(10)
        result = run(inbox, warehouse_url, tmp_path / "out")
    finally:
        run_done.set()
        reader.join()
    assert result.success
    assert seen["held"], "the run waited for the BI query to end"
    assert seen["before"] == seen["during"] == (0, 0)  # the BI query saw one consistent state
    with engine.connect() as conn:
        assert counts(conn) == (3, 3)
    engine.dispose()
    assert comparable(snapshot(warehouse_url)) == one_run(dialect_of(warehouse_url))
