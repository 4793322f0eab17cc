"""The year lock: a second holder of the same year waits, another year does not; every wait
for a lock is bounded (``CRPV_LOCK_TIMEOUT``) and its error names the lock."""

import threading
import time
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from crpv_pipeline.cli import main
from crpv_pipeline.warehouse import locks
from crpv_pipeline.warehouse.engine import (
    WRITE_LOCK_KEY,
    WarehouseError,
    create_warehouse_engine,
    write_transaction,
)
from crpv_pipeline.warehouse.locks import (
    POLL_SECONDS,
    YearLocked,
    lock_timeout_from_environment,
    year_lock,
)
from crpv_pipeline.warehouse.schema import ensure_schema
from crpv_pipeline.warehouse.tables import count_rows
from crpv_pipeline_tests.processes import TcpProxy
from crpv_pipeline_tests.workbooks import write_return


def test_a_second_run_of_the_same_year_waits_for_the_first(warehouse_url, monkeypatch):
    order = []
    held, second_waits = threading.Event(), threading.Event()

    def poll_later(seconds):  # the lock was found taken: the second run waits
        second_waits.set()
        time.sleep(seconds)

    monkeypatch.setattr(locks, "time", SimpleNamespace(monotonic=time.monotonic, sleep=poll_later))

    def first():
        with year_lock(warehouse_url, 2021):
            order.append("first in")
            held.set()
            second_waits.wait(30)  # held until the second run has found it taken
            order.append("first out")

    thread = threading.Thread(target=first)
    thread.start()
    held.wait(10)
    with year_lock(warehouse_url, 2021, timeout=30):
        order.append("second in")
    thread.join()
    assert second_waits.is_set()
    assert order == ["first in", "first out", "second in"]


def test_another_year_does_not_wait(warehouse_url):
    with year_lock(warehouse_url, 2021):
        start = time.monotonic()
        with year_lock(warehouse_url, 2020, timeout=5):
            pass
        assert time.monotonic() - start < 2


def test_waiting_too_long_names_the_lock_and_the_warehouse(warehouse_url):
    shown = sa.make_url(warehouse_url).render_as_string(hide_password=True)
    with year_lock(warehouse_url, 2021):
        with pytest.raises(YearLocked) as err:
            with year_lock(warehouse_url, 2021, timeout=0.6):
                pass
    assert str(err.value).startswith(f"the 2021 year lock on {shown} is held by another ")
    assert "(waited 0.6 s)" in str(err.value)


def test_the_wait_is_bounded_by_crpv_lock_timeout(monkeypatch):
    assert lock_timeout_from_environment({}) == 600
    assert lock_timeout_from_environment({"CRPV_LOCK_TIMEOUT": " 2.5 "}) == 2.5
    for bad in ("0", "-1", "ten", "inf", "nan"):
        with pytest.raises(ValueError, match=f"CRPV_LOCK_TIMEOUT='{bad}': expected a number"):
            lock_timeout_from_environment({"CRPV_LOCK_TIMEOUT": bad})


def _held_by_another_session(url: str):
    """A context holding the 2021 year lock the way another process or session would."""
    if url.startswith("sqlite"):
        import fcntl

        @contextmanager
        def held():
            database = Path(sa.make_url(url).database)
            with database.with_name(f"{database.name}.2021.lock").open("a") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                yield

        return held()

    @contextmanager
    def held():
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(
                    sa.text("SELECT pg_advisory_lock(CAST(:key AS INTEGER), 2021)"),
                    {"key": WRITE_LOCK_KEY},
                )
                yield
        finally:
            engine.dispose()

    return held()


def test_a_session_holding_the_year_lock_makes_crpv_run_fail_after_the_bound(
    tmp_path, warehouse_url, monkeypatch, capsys
):
    write_return(tmp_path / "inbox" / "2021" / "IREV.xlsx")
    engine = create_warehouse_engine(warehouse_url)
    ensure_schema(engine)
    monkeypatch.setenv("CRPV_LOCK_TIMEOUT", "1")
    args = ["run", "--year", "2021", "--inbox", str(tmp_path / "inbox")]
    args += ["--warehouse", warehouse_url, "--output", str(tmp_path / "out")]
    with _held_by_another_session(warehouse_url):
        assert main(args) == 3
    shown = sa.make_url(warehouse_url).render_as_string(hide_password=True)
    holder = "process" if warehouse_url.startswith("sqlite") else "session"
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"Error: pipeline run for 2021 could not start: the 2021 year lock on {shown} is held"
        f" by another {holder} (waited 1 s); wait for that run to finish, or set"
        " CRPV_LOCK_TIMEOUT to wait longer"
    )
    assert count_rows(engine, "submission") == 0  # nothing was loaded
    engine.dispose()


@pytest.mark.postgres
def test_a_session_holding_the_write_lock_fails_the_write_after_the_bound(pg_url):
    engine = create_warehouse_engine(pg_url, lock_timeout=0.5)
    holder = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    try:
        with holder.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": WRITE_LOCK_KEY})
            with pytest.raises(WarehouseError) as err:
                with write_transaction(engine, "loading IREV 2021"):
                    pass
        shown = engine.url.render_as_string(hide_password=True)
        assert str(err.value) == (
            f"loading IREV 2021 failed: the write lock on {shown} is held by another session"
            " (waited 0.5 s)"
        )
    finally:
        holder.dispose()
        engine.dispose()


def _seconds_to_take(url: str, timeout: float = 0) -> float:
    """How long the next run of 2021 waits for the year lock (``YearLocked`` after ``timeout``)."""
    start = time.monotonic()
    with year_lock(url, 2021, timeout=timeout):
        return time.monotonic() - start


def test_the_lock_is_released_when_the_run_fails(warehouse_url):
    with pytest.raises(RuntimeError, match="^step failed$"):  # the run's own error, unchanged
        with year_lock(warehouse_url, 2021):
            raise RuntimeError("step failed")
    assert _seconds_to_take(warehouse_url) < POLL_SECONDS  # taken at the first try


@pytest.mark.postgres
def test_a_lock_whose_connection_was_lost_is_given_up_quietly(pg_url):
    proxy = TcpProxy(("127.0.0.1", sa.make_url(pg_url).port or 5432))
    proxy.open()
    outcome = []
    try:
        with year_lock(proxy.url(pg_url), 2021):
            proxy.close()  # the server went away during the run: its lock went with it
            outcome.append("run finished")
        outcome.append("lock given up without an error")
    finally:
        proxy.close()
    assert outcome == ["run finished", "lock given up without an error"]
    # the server lets the lost session's lock go as soon as it sees the connection closed
    assert _seconds_to_take(pg_url, timeout=5) < 5
