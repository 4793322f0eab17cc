"""A warehouse briefly unavailable: the start of a write is tried again, a bounded number of times.

PostgreSQL "stopped" is a loopback proxy that the test closes (connection refused, connections
cut) and opens again; SQLite "busy" is another connection holding the write lock.
"""

import re
import threading
import time

import pytest
import sqlalchemy as sa

from crpv_pipeline.warehouse.engine import (
    WarehouseError,
    WarehouseUnavailable,
    create_warehouse_engine,
    write_transaction,
)
from crpv_pipeline.warehouse.retries import RetryPolicy, is_transient, parse_retry_policy
from crpv_pipeline.warehouse.schema import ensure_schema
from crpv_pipeline_tests.factories import activity, make_result
from crpv_pipeline_tests.processes import TcpProxy, free_port, snapshot, start_crpv_run
from crpv_pipeline_tests.tables import dump, load, rows
from crpv_pipeline_tests.workbooks import write_return

FAST = RetryPolicy(tries=5, first_delay=0.2, max_delay=1.0)  # waits 0.2, 0.4, 0.8, 1 s


@pytest.mark.parametrize(
    ("spec", "tries", "delays"),
    [
        ("5,0.5,8", 5, [0.5, 1, 2, 4]),
        ("7,0.5,8", 7, [0.5, 1, 2, 4, 8, 8]),
        ("3", 3, [0.5, 1]),
        (" 4 , 0.1 ", 4, [0.1, 0.2, 0.4]),
        ("1", 1, []),
    ],
)
def test_the_retry_policy_doubles_its_wait_up_to_the_longest(spec, tries, delays):
    policy = parse_retry_policy(spec)
    assert (policy.tries, policy.delays()) == (tries, delays)


@pytest.mark.parametrize("spec", ["", "five", "0", "3,-1", "3,4,2", "1,2,3,4"])
def test_a_wrong_retry_setting_says_what_is_expected(spec):
    with pytest.raises(ValueError, match=r"expected TRIES\[,FIRST_WAIT\[,LONGEST_WAIT\]\]"):
        parse_retry_policy(spec)


def test_only_operational_errors_are_transient():
    refused = sa.exc.OperationalError("connect", {}, Exception("Connection refused"))
    duplicate = sa.exc.IntegrityError("insert", {}, Exception("duplicate key"))
    assert is_transient(refused)
    assert not is_transient(duplicate)
    assert not is_transient(RuntimeError("boom"))


@pytest.mark.postgres
def test_a_load_waits_for_a_stopped_warehouse_to_come_back(pg_url, caplog):
    proxy = TcpProxy(("127.0.0.1", sa.make_url(pg_url).port or 5432))
    proxy.open()
    engine = create_warehouse_engine(proxy.url(pg_url), retry=FAST)
    back = threading.Timer(1.0, proxy.open)
    try:
        ensure_schema(engine)  # the pool now holds a connection through the proxy
        proxy.close()  # the server "stops": that connection is cut, new ones are refused
        back.start()  # and it is back a second later
        start = time.monotonic()
        outcome = load(engine, make_result())
        assert time.monotonic() - start >= 0.9
    finally:
        back.cancel()
        engine.dispose()
        proxy.close()
    assert outcome.action == "loaded"
    retries = [r.getMessage() for r in caplog.records if "unavailable" in r.getMessage()]
    assert retries and "try 2 of 5 in 0.2 s" in retries[0]
    assert "loading IREV_2021.xlsx (IREV, 2021)" in retries[0]
    direct = create_warehouse_engine(pg_url)
    try:
        assert [s["status"] for s in rows(direct, "submission")] == ["loaded"]
        assert len(rows(direct, "fact_activity")) == 3
    finally:
        direct.dispose()


@pytest.mark.postgres
def test_a_warehouse_that_stays_unreachable_fails_after_the_last_try(pg_url):
    before_engine = create_warehouse_engine(pg_url)
    ensure_schema(before_engine)
    before = dump(before_engine)
    port = free_port()  # nobody listens there: every connection is refused
    url = sa.make_url(pg_url).set(host="127.0.0.1", port=port, password="s3cret")
    engine = create_warehouse_engine(url.render_as_string(hide_password=False), retry=FAST)
    start = time.monotonic()
    try:
        with pytest.raises(WarehouseUnavailable) as info:
            load(engine, make_result())
    finally:
        engine.dispose()
    assert 2.4 - 0.1 <= time.monotonic() - start < 10  # 0.2 + 0.4 + 0.8 + 1, then it stops
    shown = url.render_as_string(hide_password=True)
    assert "s3cret" not in str(info.value) and "***" in shown
    assert str(info.value).startswith(
        f"loading IREV_2021.xlsx (IREV, 2021) failed: the warehouse {shown} was still"
        " unavailable after 5 tries over 2.4 s: connection failed: "
    )
    assert str(info.value).endswith(f"port {port} failed: Connection refused")
    assert isinstance(info.value.__cause__, sa.exc.OperationalError)
    assert dump(before_engine) == before  # nothing written
    before_engine.dispose()


def test_crpv_run_on_an_unreachable_warehouse_exits_3_with_the_error(tmp_path):
    write_return(tmp_path / "inbox" / "2021" / "IREV_2021.xlsx")
    port = free_port()
    url = f"postgresql+psycopg://crpv:s3cret@127.0.0.1:{port}/crpv"
    process = start_crpv_run(
        2021, tmp_path / "inbox", url, tmp_path / "out", CRPV_WAREHOUSE_RETRY="3,0.1"
    )
    assert process.wait(60) == 3
    err = process.err()
    assert "Traceback" not in err and "s3cret" not in err
    assert err.splitlines()[-1] == (
        "Error: pipeline run for 2021 could not start: taking the lock of 2021 failed: the"
        f" warehouse postgresql+psycopg://crpv:***@127.0.0.1:{port}/crpv was still unavailable"
        " after 3 tries over 0.3 s: connection failed: connection to server at"
        f' "127.0.0.1", port {port} failed: Connection refused'
    )
    assert err.count("is unavailable (connection failed") == 2  # a line for each retry
    assert process.out() == ""


def test_a_busy_sqlite_warehouse_is_waited_for_then_written(sqlite_url, caplog):
    holder = create_warehouse_engine(sqlite_url)
    ensure_schema(holder)
    writer = create_warehouse_engine(sqlite_url, sqlite_busy_timeout_ms=0, retry=FAST)
    held = threading.Event()

    def hold_the_write_lock():
        with write_transaction(holder):
            held.set()
            time.sleep(0.5)

    thread = threading.Thread(target=hold_the_write_lock)
    thread.start()
    held.wait(10)
    try:
        outcome = load(writer, make_result())  # "database is locked" at once, then retried
    finally:
        thread.join()
        writer.dispose()
    assert outcome.action == "loaded"
    assert any("database is locked" in r.getMessage() for r in caplog.records)
    assert [s["status"] for s in rows(holder, "submission")] == ["loaded"]
    holder.dispose()


def test_a_sqlite_warehouse_locked_for_too_long_fails_with_a_clear_message(sqlite_url):
    holder = create_warehouse_engine(sqlite_url)
    ensure_schema(holder)
    writer = create_warehouse_engine(
        sqlite_url, sqlite_busy_timeout_ms=0, retry=RetryPolicy(3, 0.05, 0.1)
    )
    try:
        with write_transaction(holder):
            with pytest.raises(WarehouseUnavailable) as info:
                load(writer, make_result())
    finally:
        writer.dispose()
    assert str(info.value) == (
        f"loading IREV_2021.xlsx (IREV, 2021) failed: the warehouse {sqlite_url} was still"
        " unavailable after 3 tries over 0.15 s: database is locked"
    )
    assert rows(holder, "submission") == []
    holder.dispose()


def test_a_constraint_violation_is_never_retried(engine):
    begun = []
    sa.event.listen(engine, "begin", lambda conn: begun.append(1))
    broken = make_result(activities=[activity(theme_code="NOT_A_THEME")])
    with pytest.raises(WarehouseError, match=re.escape("loading IREV_2021.xlsx (IREV, 2021)")):
        load(engine, broken)
    assert len(begun) == 1
    assert snapshot(engine.url.render_as_string(hide_password=False))["submission"] == []
