"""The year lock: a second holder of the same year waits, another year does not."""

import threading
import time

import pytest
import sqlalchemy as sa

from crpv_pipeline.locks import YearLocked, year_lock
from crpv_pipeline_tests.processes import TcpProxy


def test_a_second_run_of_the_same_year_waits_for_the_first(warehouse_url):
    order = []
    held = threading.Event()

    def first():
        with year_lock(warehouse_url, 2021):
            order.append("first in")
            held.set()
            time.sleep(1.0)
            order.append("first out")

    thread = threading.Thread(target=first)
    thread.start()
    held.wait(10)
    with year_lock(warehouse_url, 2021):
        order.append("second in")
    thread.join()
    assert order == ["first in", "first out", "second in"]


def test_another_year_does_not_wait(warehouse_url):
    with year_lock(warehouse_url, 2021):
        start = time.monotonic()
        with year_lock(warehouse_url, 2020, timeout=5):
            pass
        assert time.monotonic() - start < 2


def test_waiting_too_long_names_the_year(warehouse_url):
    with year_lock(warehouse_url, 2021):
        with pytest.raises(YearLocked, match="another run of 2021 has held the warehouse"):
            with year_lock(warehouse_url, 2021, timeout=0.6):
                pass


def test_the_lock_is_released_when_the_run_fails(warehouse_url):
    with pytest.raises(RuntimeError):
        with year_lock(warehouse_url, 2021):
            raise RuntimeError("step failed")
    with year_lock(warehouse_url, 2021, timeout=0.1):
        pass


@pytest.mark.postgres
def test_a_lock_whose_connection_was_lost_is_given_up_quietly(pg_url):
    proxy = TcpProxy(("127.0.0.1", sa.make_url(pg_url).port or 5432))
    proxy.open()
    try:
        with year_lock(proxy.url(pg_url), 2021):
            proxy.close()  # the server went away during the run: its lock went with it
    finally:
        proxy.close()
    with year_lock(pg_url, 2021, timeout=5):
        pass
