"""Dagster resources: the inbox, where workbooks go, the warehouse and the yearly deadlines.

All are configuration read from the environment when Dagster loads the definitions (never at
import); the domain functions receive a path, an engine or a ``Deadlines``, not a resource. The
warehouse resource holds the one SQLAlchemy engine of a step: created when Dagster sets the
resource up for the step's process (once per run in process), disposed when the step is done.
"""

import os
from pathlib import Path

import dagster as dg
from pydantic import PrivateAttr
from sqlalchemy import Engine

from crpv_pipeline import settings
from crpv_pipeline.intake.inbox import year_folder
from crpv_pipeline.reference.deadlines import DEFAULT_DEADLINES, Deadlines, parse_deadlines
from crpv_pipeline.settings import (
    DEFAULT_INBOX,
    DEFAULT_OUTPUT,
    DEFAULT_RETRY,
    DEFAULT_WAREHOUSE_URL,
)
from crpv_pipeline.warehouse.engine import create_warehouse_engine
from crpv_pipeline.warehouse.retries import parse_retry_policy

ENGINE_OPENED = "warehouse engine opened"
ENGINE_DISPOSED = "warehouse engine disposed"
"""The debug lines of the run's log that say when a step process opened and disposed its engine."""


class InboxResource(dg.ConfigurableResource):
    """The inbox folder: ``<path>/<year>/<any name>.xlsx`` (``CRPV_INBOX``)."""

    path: str = DEFAULT_INBOX

    def root(self) -> Path:
        return Path(self.path).expanduser()


class OutputResource(dg.ConfigurableResource):
    """Where the workbooks for people go: ``<path>/<year>/…`` (``CRPV_OUTPUT``)."""

    path: str = DEFAULT_OUTPUT

    def year_folder(self, year: int) -> Path:
        return year_folder(Path(self.path).expanduser(), year)


class WarehouseResource(dg.ConfigurableResource):
    """The SQL warehouse, as any SQLAlchemy URL (``CRPV_WAREHOUSE_URL``).

    ``retry`` (``CRPV_WAREHOUSE_RETRY``): ``TRIES[,FIRST_WAIT[,LONGEST_WAIT]]``, how often a
    write tries to reach the warehouse while it is unavailable (default ``5,0.5,8``). A write
    waits for a lock at most ``CRPV_LOCK_TIMEOUT`` seconds (default 600), read when a step
    opens the engine.

    Dagster sets the resource up in every step process that needs it: the engine (and its
    connection pool) is created there once, every asset of the step shares it through
    ``engine()``, and it is disposed after the step, whether it succeeded or not. Each opening
    and disposal is written to the run's log (debug level), naming the process.
    """

    url: str = DEFAULT_WAREHOUSE_URL
    retry: str = DEFAULT_RETRY
    _engine: Engine | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._engine = create_warehouse_engine(
            self.url,
            retry=parse_retry_policy(self.retry),
            lock_timeout=settings.lock_timeout(),
        )
        if context.log is not None:
            context.log.debug(f"{ENGINE_OPENED} (process {os.getpid()})")

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._engine is None:
            return
        self._engine.dispose()
        self._engine = None
        if context.log is not None:
            context.log.debug(f"{ENGINE_DISPOSED} (process {os.getpid()})")

    def engine(self) -> Engine:
        """The step's engine; only while Dagster holds the resource set up."""
        if self._engine is None:
            raise RuntimeError("the warehouse resource is not set up: use it inside a run")
        return self._engine


class DeadlinesResource(dg.ConfigurableResource):
    """When each year's returns are due (``CRPV_DEADLINES``).

    ``MM-DD`` of the following year, then optional ``YEAR=YYYY-MM-DD`` exceptions, for example
    ``03-31; 2020=2021-06-30`` (see ``deadlines``).
    """

    spec: str = DEFAULT_DEADLINES

    def deadlines(self) -> Deadlines:
        return parse_deadlines(self.spec)
