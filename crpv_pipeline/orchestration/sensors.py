"""Dagster sensor on the inbox: a run of a year's partition when its returns change.

Thin: ``arrivals.check_inbox`` decides which years changed (content hashes, files still being
copied, the cursor); this module turns its decisions into run requests of ``bilan_year``, with a
run key made of the year and the set of hashes, so that an unchanged inbox never triggers twice.
"""

from __future__ import annotations

import dagster as dg

from crpv_pipeline.intake import arrivals
from crpv_pipeline.orchestration.partitions import YEARS
from crpv_pipeline.orchestration.resources import InboxResource
from crpv_pipeline.settings import DEFAULT_SENSOR_INTERVAL_SECONDS as DEFAULT_INTERVAL_SECONDS

"""How often the sensor looks at the inbox, unless ``CRPV_SENSOR_INTERVAL_SECONDS`` says."""

YEAR_TAG = "crpv/year"
"""Tag naming the year of a run (the run queue also limits runs per ``dagster/partition``)."""

bilan_year = dg.define_asset_job(
    "bilan_year",
    selection=dg.AssetSelection.all(),
    description=(
        "Everything of one year: inbox, validation, warehouse load, derived tables, checks, "
        "correction workbooks and the stewards' overview."
    ),
)


def build_inbox_sensor(
    minimum_interval_seconds: int = DEFAULT_INTERVAL_SECONDS,
) -> dg.SensorDefinition:
    """The inbox sensor, running by default, looking every ``minimum_interval_seconds``."""

    @dg.sensor(
        name="inbox_sensor",
        job=bilan_year,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Watches <inbox>/<year>/ and requests a run of the year when its returns change "
            "(by content: a re-saved file counts, a copy with the same bytes does not). A file "
            "still being copied waits for the next look."
        ),
    )
    def inbox_sensor(
        context: dg.SensorEvaluationContext, inbox: InboxResource
    ) -> dg.SensorResult:
        check = arrivals.check_inbox(inbox.root(), YEARS.get_partition_keys(), context.cursor)
        requests = [
            dg.RunRequest(
                run_key=arrival.run_key,
                partition_key=str(arrival.year),
                tags={YEAR_TAG: str(arrival.year), "crpv/inbox_digest": arrival.inbox_digest},
            )
            for arrival in check.arrivals
        ]
        for arrival in check.arrivals:
            context.log.info(
                f"{arrival.year}: returns changed ({len(arrival.files)} files), run requested"
            )
        return dg.SensorResult(
            run_requests=requests,
            skip_reason=None if requests else check.summary(),
            cursor=check.cursor,
        )

    return inbox_sensor
