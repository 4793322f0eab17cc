"""The Dagster code location: assets, checks and resources of the CRPV pipeline.

Loaded by ``dagster dev -w workspace.yaml``. The resources read ``CRPV_INBOX``,
``CRPV_WAREHOUSE_URL`` and ``CRPV_OUTPUT`` when Dagster loads the definitions, and fall back to
``./inbox``, the embedded SQLite warehouse ``./crpv_warehouse.sqlite`` and ``./crpv_output``.
"""

import os

import dagster as dg

from crpv_pipeline.assets import ALL_ASSETS
from crpv_pipeline.resources import (
    DEFAULT_INBOX,
    DEFAULT_OUTPUT,
    InboxResource,
    OutputResource,
    WarehouseResource,
)
from crpv_pipeline.warehouse import DEFAULT_WAREHOUSE_URL


def _setting(name: str, default: str) -> str | dg.EnvVar:
    return dg.EnvVar(name) if os.environ.get(name) else default


def _dialect_kind(url: str) -> str:
    return "postgres" if url.startswith("postgres") else url.split(":", 1)[0].split("+", 1)[0]


def build_definitions(
    inbox: str | None = None, warehouse_url: str | None = None, output: str | None = None
) -> dg.Definitions:
    """The code location's definitions, with explicit settings or those of the environment.

    The warehouse tables carry the kind of the configured database (``sqlite``, ``postgres``)
    besides ``sql``, so the UI shows where they live.
    """
    url = warehouse_url or os.environ.get("CRPV_WAREHOUSE_URL") or DEFAULT_WAREHOUSE_URL
    kind = _dialect_kind(url)
    assets = dg.map_asset_specs(
        lambda spec: spec.merge_attributes(kinds={kind}) if "sql" in spec.kinds else spec,
        ALL_ASSETS,
    )
    return dg.Definitions(
        assets=assets,
        resources={
            "inbox": InboxResource(path=inbox or _setting("CRPV_INBOX", DEFAULT_INBOX)),
            "output": OutputResource(path=output or _setting("CRPV_OUTPUT", DEFAULT_OUTPUT)),
            "warehouse": WarehouseResource(
                url=warehouse_url or _setting("CRPV_WAREHOUSE_URL", DEFAULT_WAREHOUSE_URL)
            ),
        },
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
