"""The Dagster code location: assets, checks, sensors and resources of the pipeline.

Loaded by ``dagster dev -w workspace.yaml`` and ``dg`` (``[tool.dg]`` in pyproject.toml). The
resources read ``CRPV_INBOX``, ``CRPV_WAREHOUSE_URL``, ``CRPV_WAREHOUSE_RETRY``, ``CRPV_OUTPUT``
and ``CRPV_DEADLINES`` when Dagster loads the definitions, and fall back to ``./inbox``, the
embedded SQLite warehouse ``./crpv_warehouse.sqlite`` (writes tried 5 times while it is
unavailable), ``./crpv_output`` and 31 March of the following year. The inbox sensor (running by
default) looks every ``CRPV_SENSOR_INTERVAL_SECONDS`` (default 30); the bilan deadline sensor
every hour. Every asset carries the code version of this pipeline and of its reference data;
the tables and BI views their names on the configured database; the bilan its yearly freshness
policy. Launched runs execute each step in its own process (``multiprocess_executor``) unless
``CRPV_EXECUTOR`` names another executor as ``module:attribute`` (for example
``dagster_k8s:k8s_job_executor``, see docs/deploy.md).
"""

import importlib

import dagster as dg

from crpv_pipeline import settings
from crpv_pipeline.orchestration.approval_check import returns_awaiting_approval
from crpv_pipeline.orchestration.asset_specs import for_location, view_specs
from crpv_pipeline.orchestration.assets import ALL_ASSETS
from crpv_pipeline.orchestration.resources import (
    DEFAULT_INBOX,
    DEFAULT_OUTPUT,
    DeadlinesResource,
    InboxResource,
    OutputResource,
    WarehouseResource,
)
from crpv_pipeline.orchestration.sensors import (
    bilan_year,
    build_bilan_deadline_sensor,
    build_inbox_sensor,
)
from crpv_pipeline.reference.deadlines import DEFAULT_DEADLINES, parse_deadlines
from crpv_pipeline.settings import DEFAULT_RETRY, DEFAULT_WAREHOUSE_URL


def _setting(name: str, default: str) -> str | dg.EnvVar:
    return dg.EnvVar(name) if settings.text(name) else default


def _executor() -> dg.ExecutorDefinition:
    """The executor of launched runs: ``CRPV_EXECUTOR`` (``module:attribute``) or multiprocess."""
    name = settings.executor()
    if not name:
        return dg.multiprocess_executor
    module, _, attribute = name.partition(":")
    try:
        executor = getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError, ValueError) as err:
        raise ValueError(
            f"{settings.EXECUTOR}={name!r}: cannot import it ({err}); expected module:attribute,"
            " for example dagster_k8s:k8s_job_executor, with its package installed"
        ) from err
    if not isinstance(executor, dg.ExecutorDefinition):
        raise ValueError(f"{settings.EXECUTOR}={name!r} is not a Dagster executor")
    return executor


def build_definitions(
    inbox: str | None = None,
    warehouse_url: str | None = None,
    output: str | None = None,
    deadlines: str | None = None,
    retry: str | None = None,
) -> dg.Definitions:
    """The code location's definitions, with explicit settings or those of the environment.

    The warehouse tables and BI views carry the kind of the configured database (``sqlite``,
    ``postgres``) besides ``sql`` and their name there, so the UI shows where they live.
    """
    url = settings.warehouse_url(warehouse_url)
    year_deadlines = parse_deadlines(deadlines or settings.text(settings.DEADLINES))
    assets = dg.map_asset_specs(
        lambda spec: for_location(spec, url, year_deadlines), [*ALL_ASSETS, *view_specs()]
    )
    return dg.Definitions(
        assets=assets,
        asset_checks=[returns_awaiting_approval],
        jobs=[bilan_year],
        sensors=[build_inbox_sensor(settings.sensor_interval()), build_bilan_deadline_sensor()],
        executor=_executor(),
        resources={
            "inbox": InboxResource(path=inbox or _setting(settings.INBOX, DEFAULT_INBOX)),
            "output": OutputResource(path=output or _setting(settings.OUTPUT, DEFAULT_OUTPUT)),
            "warehouse": WarehouseResource(
                url=warehouse_url or _setting(settings.WAREHOUSE_URL, DEFAULT_WAREHOUSE_URL),
                retry=retry or _setting(settings.WAREHOUSE_RETRY, DEFAULT_RETRY),
            ),
            "deadlines": DeadlinesResource(
                spec=deadlines or _setting(settings.DEADLINES, DEFAULT_DEADLINES)
            ),
        },
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
