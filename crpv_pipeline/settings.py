"""Every ``CRPV_*`` environment variable: its name, default, parsing and error message.

Belongs here: reading the environment and checking what it says, once, for the command line,
the Dagster resources and the worker processes alike; ``ENVIRONMENT`` is what ``crpv --help``
lists. A wrong value raises ``ValueError`` naming the variable (the command line makes it a
usage error, exit 2). Stays out: what a setting does (each stage receives the parsed value),
anything heavy at import (``crpv validate`` stays fast). Values are read when a run, a check or
a command starts, never at import. The fault tests' pause points (``testpoints``) name their own
two test-only variables (``TEST_ONLY_VARIABLES``), read here too.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_INBOX = "inbox"
DEFAULT_DEMO_INBOX = "crpv_demo_inbox"
DEFAULT_OUTPUT = "crpv_output"
DEFAULT_WAREHOUSE_URL = "sqlite:///crpv_warehouse.sqlite"
DEFAULT_RETRY = "5,0.5,8"
"""Tries, first and longest wait in seconds: 0.5 + 1 + 2 + 4 = 7.5 s of waiting in all."""
DEFAULT_LOCK_TIMEOUT_SECONDS = 600.0
"""How long a run waits for the year lock, and a write for the write lock, by default."""
DEFAULT_READ_BUDGET = 256 * 1024 * 1024
"""Bytes of returns, inflated (``file_guards.inflated_size``), that worker processes may read
at once: as much as the largest return the guards let through, which then runs alone."""
DEFAULT_SENSOR_INTERVAL_SECONDS = 30

INBOX = "CRPV_INBOX"
WAREHOUSE_URL = "CRPV_WAREHOUSE_URL"
OUTPUT = "CRPV_OUTPUT"
WORKERS = "CRPV_WORKERS"
READ_BUDGET = "CRPV_READ_BUDGET_MB"
DEADLINES = "CRPV_DEADLINES"
REFERENCE_DIR = "CRPV_REFERENCE_DIR"
MAX_ROWS = "CRPV_MAX_ROWS"
MAX_COLUMNS = "CRPV_MAX_COLUMNS"
MAX_FILE_MB = "CRPV_MAX_FILE_MB"
WAREHOUSE_RETRY = "CRPV_WAREHOUSE_RETRY"
LOCK_TIMEOUT = "CRPV_LOCK_TIMEOUT"
SENSOR_INTERVAL = "CRPV_SENSOR_INTERVAL_SECONDS"
EXECUTOR = "CRPV_EXECUTOR"


@dataclass(frozen=True)
class Setting:
    """One environment variable as ``crpv --help`` lists it."""

    name: str
    default: str
    what: str


ENVIRONMENT = (
    Setting(
        INBOX,
        f"./{DEFAULT_INBOX} (crpv demo: ./{DEFAULT_DEMO_INBOX})",
        "the inbox, one folder per year",
    ),
    Setting(
        WAREHOUSE_URL,
        DEFAULT_WAREHOUSE_URL,
        "the warehouse, any SQLAlchemy URL (the folder of a SQLite file must exist)",
    ),
    Setting(OUTPUT, f"./{DEFAULT_OUTPUT}", "correction workbooks, stewards' overview, bilan"),
    Setting(WORKERS, "every core", "processes reading returns in a run"),
    Setting(
        READ_BUDGET,
        str(DEFAULT_READ_BUDGET // (1024 * 1024)),
        "Mo of returns (inflated) the workers read at once, whatever CRPV_WORKERS is",
    ),
    Setting(DEADLINES, "03-31", "deadline of each year's returns, e.g. 03-31; 2020=2021-06-30"),
    Setting(REFERENCE_DIR, "the packaged lists", "folder of CSV files replacing reference lists"),
    Setting(MAX_ROWS, "50000", "rows a sheet may have"),
    Setting(MAX_COLUMNS, "200", "columns a sheet may have"),
    Setting(MAX_FILE_MB, "50", "size of a return, in Mo"),
    Setting(
        WAREHOUSE_RETRY,
        DEFAULT_RETRY,
        "tries, first and longest wait (s) while the warehouse does not answer",
    ),
    Setting(
        LOCK_TIMEOUT,
        f"{DEFAULT_LOCK_TIMEOUT_SECONDS:g}",
        "seconds a run waits for the year lock or the write lock another session holds",
    ),
    Setting(
        SENSOR_INTERVAL,
        str(DEFAULT_SENSOR_INTERVAL_SECONDS),
        "how often Dagster's inbox sensor looks (Dagster)",
    ),
    Setting(EXECUTOR, "dagster:multiprocess_executor", "executor of launched runs (Dagster)"),
    Setting(
        "DAGSTER_HOME",
        "unset: a throw-away instance",
        "folder of the Dagster instance that records crpv run's runs",
    ),
)
"""Every environment variable the program reads, for ``crpv --help``."""

TEST_ONLY_VARIABLES = ("CRPV_TEST_PAUSE_AT", "CRPV_TEST_PAUSE_MARKER")
"""Read only by the fault tests' pause points (``testpoints``); never set in use."""

WORKER_SETTINGS = (REFERENCE_DIR, MAX_ROWS, MAX_COLUMNS, MAX_FILE_MB)
"""Variables the work of a worker process depends on (the reference lists; the limits with
which a correction workbook opens its return), sent with every job: the fork server keeps the
environment it started with."""


def worker_settings() -> dict[str, str | None]:
    """The ``WORKER_SETTINGS`` of this process as they are (None: unset), to send with a job."""
    return {name: os.environ.get(name) for name in WORKER_SETTINGS}


def use_worker_settings(values: Mapping[str, str | None]) -> None:
    """Give this (worker) process the ``worker_settings`` of the process that sent its job."""
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def text(name: str, environ: Mapping[str, str] | None = None) -> str:
    """The value of ``name``, stripped; empty when unset."""
    return (os.environ if environ is None else environ).get(name, "").strip()


def whole_number(name: str, value: str, expected: str) -> int:
    """``value`` of ``name`` as a whole number ≥ 1, else ``ValueError``: ``NAME='x': expected…``."""
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{name}={value!r}: expected {expected}")
    return int(value)


def inbox(given: str | None = None, default: str = DEFAULT_INBOX) -> str:
    """The inbox folder: ``given`` (``--inbox``), else ``CRPV_INBOX``, else ``default``."""
    return given or text(INBOX) or default


def warehouse_url(given: str | None = None) -> str:
    """The warehouse URL: ``given`` (``--warehouse``), else ``CRPV_WAREHOUSE_URL``, else SQLite."""
    return given or text(WAREHOUSE_URL) or DEFAULT_WAREHOUSE_URL


def output(given: str | None = None) -> str:
    """The output folder: ``given`` (``--output``), else ``CRPV_OUTPUT``, else ./crpv_output."""
    return given or text(OUTPUT) or DEFAULT_OUTPUT


def warehouse_retry(given: str | None = None) -> str:
    """How writes retry (``TRIES[,FIRST[,LONGEST]]``), parsed by ``retries.parse_retry_policy``."""
    return given or text(WAREHOUSE_RETRY) or DEFAULT_RETRY


def reference_dir() -> str:
    """The folder of reference CSV files replacing the packaged lists; empty: the packaged ones."""
    return text(REFERENCE_DIR)


def executor() -> str:
    """The executor of launched runs as ``module:attribute``; empty: Dagster's multiprocess one."""
    return text(EXECUTOR)


def worker_processes(environ: Mapping[str, str] | None = None) -> int:
    """Processes that read and validate returns and write their workbooks (``CRPV_WORKERS``).

    Default: the cores this process may use.
    """
    value = text(WORKERS, environ)
    if value:
        return whole_number(WORKERS, value, "a whole number of processes, ≥ 1")
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


def read_budget(environ: Mapping[str, str] | None = None) -> int:
    """Bytes of inflated returns the worker processes may hold at once (``CRPV_READ_BUDGET_MB``).

    Reading a return takes about its inflated size in memory for its shared strings and up to
    four times that for its sheets (a correction workbook, counted twice, up to nine times), so
    the memory that reading adds to the run's processes stays within about four times this
    budget, whatever ``CRPV_WORKERS`` is. A return larger than the budget is read alone.
    """
    value = text(READ_BUDGET, environ)
    if not value:
        return DEFAULT_READ_BUDGET
    return whole_number(READ_BUDGET, value, "a whole number of Mo, ≥ 1") * 1024 * 1024


_LIMITS = {
    MAX_ROWS: ("max_rows", 1),
    MAX_COLUMNS: ("max_columns", 1),
    MAX_FILE_MB: ("max_file_bytes", 1024 * 1024),
}


def limit_overrides(environ: Mapping[str, str] | None = None) -> dict[str, int]:
    """The file guards' limits that ``CRPV_MAX_ROWS``, ``_COLUMNS``, ``_FILE_MB`` set, by field."""
    changes = {}
    for name, (field, unit) in _LIMITS.items():
        value = text(name, environ)
        if value:
            changes[field] = whole_number(name, value, "a positive whole number") * unit
    return changes


def lock_timeout(environ: Mapping[str, str] | None = None) -> float:
    """``CRPV_LOCK_TIMEOUT`` in seconds (a positive number), or the default of 600 s."""
    value = text(LOCK_TIMEOUT, environ)
    if not value:
        return DEFAULT_LOCK_TIMEOUT_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = float("nan")
    if not seconds > 0 or seconds == float("inf"):
        raise ValueError(
            f"{LOCK_TIMEOUT}={value!r}: expected a number of seconds above 0,"
            f" for example {DEFAULT_LOCK_TIMEOUT_SECONDS:g}"
        )
    return seconds


def sensor_interval() -> int:
    """Seconds between two looks of the inbox sensor (``CRPV_SENSOR_INTERVAL_SECONDS``)."""
    value = text(SENSOR_INTERVAL)
    if not value:
        return DEFAULT_SENSOR_INTERVAL_SECONDS
    return whole_number(SENSOR_INTERVAL, value, "a whole number of seconds, at least 1")
