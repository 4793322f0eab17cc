"""Runs outside Dagster's queue (crpv run): the whole run holds the year lock."""

import re
import threading
import time

import dagster as dg
import pytest

from crpv_pipeline.orchestration.runs import RunFailed, materialize_year
from crpv_pipeline.warehouse.locks import year_lock
from crpv_pipeline_tests.workbooks import write_return


def test_a_run_waits_while_another_run_of_the_year_holds_the_warehouse(tmp_path, sqlite_url):
    write_return(tmp_path / "inbox" / "2021" / "IREV_2021.xlsx")
    held, release = threading.Event(), 1.5

    def other_run():
        with year_lock(sqlite_url, 2021):
            held.set()
            time.sleep(release)

    thread = threading.Thread(target=other_run)
    thread.start()
    held.wait(10)
    start = time.monotonic()
    result = materialize_year(
        2021,
        tmp_path / "inbox",
        sqlite_url,
        instance=dg.DagsterInstance.ephemeral(),
        output=tmp_path / "out",
    )
    thread.join()
    assert result.success
    assert time.monotonic() - start >= release - 0.2


def test_a_run_that_cannot_take_the_lock_says_so(tmp_path):
    expected = (
        "pipeline run for 2021 could not start: taking the lock of 2021 failed: the warehouse "
        "postgresql+psycopg://nobody@127.0.0.1:1/crpv was still unavailable after 2 tries"
    )
    with pytest.raises(RunFailed, match=re.escape(expected)):
        materialize_year(
            2021,
            tmp_path / "inbox",
            "postgresql+psycopg://nobody@127.0.0.1:1/crpv",
            instance=dg.DagsterInstance.ephemeral(),
            retry="2,0.05",
        )


def test_a_wrong_crpv_workers_stops_the_run_before_it_starts(tmp_path, sqlite_url, monkeypatch):
    monkeypatch.setenv("CRPV_WORKERS", "two")
    expected = (
        "pipeline run for 2021 could not start: CRPV_WORKERS='two': expected a whole number of"
        " processes, ≥ 1"
    )
    with pytest.raises(RunFailed, match=re.escape(expected)):
        materialize_year(2021, tmp_path / "inbox", sqlite_url, output=tmp_path / "out")


def test_a_failed_step_is_reported_with_the_error_it_raised(tmp_path, sqlite_url):
    from crpv_pipeline.warehouse.engine import create_warehouse_engine
    from crpv_pipeline.warehouse.schema import ensure_schema

    write_return(tmp_path / "inbox" / "2021" / "IREV_2021.xlsx")
    engine = create_warehouse_engine(sqlite_url)
    ensure_schema(engine)
    with engine.begin() as conn:  # the warehouse refuses every new submission
        conn.exec_driver_sql(
            "CREATE TRIGGER refuse BEFORE INSERT ON submission"
            " BEGIN SELECT RAISE(ABORT, 'submissions are frozen'); END"
        )
    engine.dispose()
    with pytest.raises(RunFailed) as info:
        materialize_year(
            2021,
            tmp_path / "inbox",
            sqlite_url,
            instance=dg.DagsterInstance.ephemeral(),
            output=tmp_path / "out",
        )
    assert str(info.value).endswith(
        " for 2021 failed: validate_and_load: loading IREV_2021.xlsx (IREV, 2021) into the"
        " warehouse failed: submissions are frozen"
    )
