"""Materialising a year's partition through Dagster, in process (``crpv run``, ``crpv demo``).

Runs are recorded in the Dagster instance of ``DAGSTER_HOME`` when it is set, so that they show
in the UI; otherwise in an ephemeral instance. A failed step raises ``RunFailed`` naming it and
what it raised. The whole run holds the warehouse's year lock (``locks``): such runs bypass
Dagster's run queue, and two of them for the same year must not interleave.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import dagster as dg

from crpv_pipeline import settings
from crpv_pipeline.intake import inbox as inbox_listing
from crpv_pipeline.orchestration.assets import LOADED_TABLES
from crpv_pipeline.orchestration.definitions import build_definitions
from crpv_pipeline.orchestration.sensors import YEAR_TAG
from crpv_pipeline.warehouse.derive import DERIVED_TABLES
from crpv_pipeline.warehouse.engine import WarehouseError
from crpv_pipeline.warehouse.locks import year_lock
from crpv_pipeline.warehouse.retries import parse_retry_policy
from crpv_pipeline.year import workers as year_workers

WAREHOUSE_ASSETS = (
    "inbox_files",
    "validated_returns",
    *LOADED_TABLES,
    *DERIVED_TABLES,
)
"""The assets of the warehouse, from the inbox to the derived tables (read → derive)."""


class RunFailed(Exception):
    """A pipeline run that did not succeed; the message names the failed step and why."""


def _instance() -> dg.DagsterInstance:
    if os.environ.get("DAGSTER_HOME"):
        return dg.DagsterInstance.get()
    return dg.DagsterInstance.ephemeral()


def _step_error(error) -> str:
    """What a failed step raised, past Dagster's own wrappers, from its serialisable error.

    The pipeline's own errors are written for people (they name what failed and chain the
    driver's error): their message alone, without ``crpv_pipeline.module.Class:``.
    """
    while error.cause is not None and error.cls_name.startswith("Dagster"):
        error = error.cause
    message = error.message.strip()
    if message.startswith("crpv_pipeline."):
        message = message.split(": ", 1)[-1]
    return message


def materialize_year(
    year: int,
    inbox: Path,
    warehouse_url: str,
    progress: Callable[[str], None] | None = None,
    instance: dg.DagsterInstance | None = None,
    output: Path | None = None,
    retry: str | None = None,
    assets: Sequence[str] | None = None,
) -> dg.ExecuteInProcessResult:
    """Materialise every asset (and check) of ``year``'s partition; raise ``RunFailed`` if not.

    ``output`` is where the workbooks for people go (default: ``CRPV_OUTPUT`` or ./crpv_output).
    ``retry`` is how often the year lock and every write try to reach the warehouse while it is
    unavailable (default: ``CRPV_WAREHOUSE_RETRY`` or ``5,0.5,8``, see ``retries``). ``assets``
    names the assets to materialise instead of all of them (``WAREHOUSE_ASSETS``: the
    warehouse alone, without the workbooks and the bilan for people). The year lock is waited
    for at most ``CRPV_LOCK_TIMEOUT`` seconds (default 600).
    """
    retry = settings.warehouse_retry(retry)
    try:
        policy = parse_retry_policy(retry)
        lock_timeout = settings.lock_timeout()
        workers = settings.worker_processes()
        settings.read_budget()
    except ValueError as err:
        raise RunFailed(f"pipeline run for {year} could not start: {err}") from err
    defs = build_definitions(
        inbox=str(inbox),
        warehouse_url=warehouse_url,
        output=str(output) if output else None,
        retry=retry,
    )
    job = defs.resolve_implicit_global_asset_job_def()
    year_workers.start_worker_server(inbox_listing.inbox_bytes(inbox, year), workers)
    try:
        with year_lock(warehouse_url, year, timeout=lock_timeout, retry=policy):
            result = job.execute_in_process(
                partition_key=str(year),
                asset_selection=[dg.AssetKey(a) for a in assets] if assets else None,
                instance=instance or _instance(),
                raise_on_error=False,
                run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
                tags={YEAR_TAG: str(year)},
            )
    except WarehouseError as err:  # the year lock could not be taken: nothing ran
        raise RunFailed(f"pipeline run for {year} could not start: {err}") from err
    if not result.success:
        failures = [
            f"{e.step_key}: {_step_error(e.step_failure_data.error)}"
            for e in result.all_events
            if e.is_step_failure and e.step_failure_data and e.step_failure_data.error
        ]
        raise RunFailed(
            f"pipeline run {result.run_id} for {year} failed: "
            + ("; ".join(failures) or "see the Dagster event log")
        )
    if progress:
        n_assets = len({e.asset_key for e in result.get_asset_materialization_events()})
        progress(f"Run {result.run_id} for {year} succeeded: {n_assets} assets materialised.")
    return result
