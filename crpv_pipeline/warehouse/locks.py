"""The year lock: one run of a year at a time on a warehouse, whoever starts it.

Belongs here: a lock held for a whole run of one year, from reading the inbox to rebuilding the
derived tables, so that two processes running the same year (two ``crpv run``, or a ``crpv run``
beside a Dagster run) cannot interleave. Each transaction already holds the write lock of
``warehouse``; this one spans the run. Stays out: what a run does, Dagster (whose run queue
serialises the runs it launches with a tag concurrency limit, see ``deploy/dagster.yaml``).

PostgreSQL: a session-level advisory lock ``(WRITE_LOCK_KEY, year)`` on a connection kept open
for the run (released when the run ends, or when its process dies); connecting is tried again
while the server is unavailable, as for every write (``engine.connect_with_retries``).
SQLite: an exclusive ``flock`` on ``<database file>.<year>.lock`` beside the database (same
release on death); an in-memory database needs none.

Every wait is bounded: the lock is tried (never waited on inside the server) until
``CRPV_LOCK_TIMEOUT`` seconds have passed (default 600), then ``YearLocked`` names the lock, the
warehouse and how long it waited. Write transactions bound their own waits the same way
(``lock_timeout``, see ``engine.write_transaction``). A BI session cannot take these locks at
all: ``sql/postgres/bi_readonly_role.sql`` withdraws the advisory-lock functions from it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from crpv_pipeline.settings import LOCK_TIMEOUT
from crpv_pipeline.settings import lock_timeout as lock_timeout_from_environment
from crpv_pipeline.warehouse.engine import (
    WRITE_LOCK_KEY,
    WarehouseError,
    connect_with_retries,
    create_warehouse_engine,
    failure_reason,
    sqlite_file,
)
from crpv_pipeline.warehouse.retries import RetryPolicy

try:
    import fcntl
except ImportError:  # Windows: SQLite's own write lock still serialises each transaction
    fcntl = None  # type: ignore[assignment]

POLL_SECONDS = 0.5


class YearLocked(WarehouseError):
    """Another session held the year's lock for longer than the timeout."""


@contextmanager
def year_lock(
    url: str,
    year: int,
    timeout: float | None = None,
    retry: RetryPolicy | None = None,
) -> Iterator[None]:
    """Hold the lock of ``year`` on the warehouse at ``url``; wait up to ``timeout`` seconds.

    ``timeout``: default ``CRPV_LOCK_TIMEOUT`` or 600 s. ``retry``: how often to try reaching a
    PostgreSQL warehouse (see ``retries``).
    """
    if timeout is None:
        timeout = lock_timeout_from_environment()
    engine = create_warehouse_engine(url, retry=retry)
    try:
        if engine.dialect.name == "postgresql":
            with _postgres_lock(engine, int(year), timeout):
                yield
        elif (database := sqlite_file(engine.url)) is not None:
            shown = engine.url.render_as_string(hide_password=True)
            with _file_lock(database, int(year), timeout, shown):
                yield
        else:
            yield
    finally:
        engine.dispose()


def _waited_too_long(year: int, where: str, holder: str, timeout: float) -> YearLocked:
    return YearLocked(
        f"the {year} year lock on {where} is held by another {holder} (waited {timeout:g} s);"
        f" wait for that run to finish, or set {LOCK_TIMEOUT} to wait longer"
    )


@contextmanager
def _postgres_lock(engine: sa.Engine, year: int, timeout: float) -> Iterator[None]:
    key = {"key": WRITE_LOCK_KEY, "year": year}
    shown = engine.url.render_as_string(hide_password=True)
    try:
        conn = connect_with_retries(
            engine,
            f"taking the lock of {year}",
            lambda c: c.execution_options(isolation_level="AUTOCOMMIT"),
        )
    except SQLAlchemyError as err:  # not transient: say so at once
        raise WarehouseError(
            f"taking the lock of {year} on the warehouse {shown} failed: {failure_reason(err)}"
        ) from err
    with conn:
        deadline = time.monotonic() + timeout
        try_lock = sa.text("SELECT pg_try_advisory_lock(CAST(:key AS INTEGER), :year)")
        try:
            while not conn.scalar(try_lock, key):
                if time.monotonic() > deadline:
                    raise _waited_too_long(year, shown, "session", timeout)
                time.sleep(POLL_SECONDS)
        except SQLAlchemyError as err:  # the connection was lost while waiting
            raise WarehouseError(
                f"taking the lock of {year} on the warehouse {shown} failed: {failure_reason(err)}"
            ) from err
        try:
            yield
        finally:
            # A connection lost during the run took its lock with it: nothing left to release.
            with suppress(SQLAlchemyError):
                conn.execute(
                    sa.text("SELECT pg_advisory_unlock(CAST(:key AS INTEGER), :year)"), key
                )


@contextmanager
def _file_lock(database: Path, year: int, timeout: float, shown: str) -> Iterator[None]:
    if fcntl is None:
        yield
        return
    path = database.with_name(f"{database.name}.{year}.lock")
    try:
        handle = path.open("a")
    except OSError as err:
        raise WarehouseError(
            f"taking the lock of {year} beside the warehouse {database} failed:"
            f" {err.strerror or err}"
        ) from err
    with handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise _waited_too_long(year, shown, "process", timeout) from None
                time.sleep(POLL_SECONDS)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
