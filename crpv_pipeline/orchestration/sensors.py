"""Dagster sensors: a run of a year's partition when its returns change; late bilans said.

Thin: ``arrivals.check_inbox`` decides which years changed (content hashes, files still being
copied, the cursor); this module turns its decisions into run requests of ``bilan_year``, with a
run key made of the year and the set of hashes, so that an unchanged inbox never triggers twice.
``deadlines.late_bilans`` decides which years' bilans are late; the deadline sensor records them
as failed ``bilan_on_time`` checks.
"""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg

from crpv_pipeline.intake import arrivals
from crpv_pipeline.orchestration import checks
from crpv_pipeline.orchestration.partitions import YEARS
from crpv_pipeline.orchestration.resources import DeadlinesResource, InboxResource
from crpv_pipeline.reference.deadlines import BILAN_DUE_DAYS, late_bilans
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
            "Watches `<inbox>/<year>/` and requests a run of the year when its returns change "
            "(by content: a re-saved file counts, a copy with the same bytes does not). A file "
            "still being copied waits for the next look."
        ),
    )
    def inbox_sensor(context: dg.SensorEvaluationContext, inbox: InboxResource) -> dg.SensorResult:
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


BILAN_DEADLINE_INTERVAL_SECONDS = 3600
"""How often the deadline sensor looks for years whose bilan is due and missing."""


def build_bilan_deadline_sensor(
    minimum_interval_seconds: int = BILAN_DEADLINE_INTERVAL_SECONDS,
) -> dg.SensorDefinition:
    """The sensor failing ``bilan_on_time`` of each year whose bilan is due and was never built.

    Launches no run: it records one failed check result per late year (its partition), once
    (the cursor keeps the years already said); building the bilan passes the check again.
    """

    @dg.sensor(
        name="bilan_deadline_sensor",
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Every hour, fails the bilan_on_time check of each year whose bilan is due (its "
            "returns' deadline, CRPV_DEADLINES, plus "
            f"{BILAN_DUE_DAYS} days) and was never built: the years with an inbox folder, and "
            "the latest year due."
        ),
    )
    def bilan_deadline_sensor(
        context: dg.SensorEvaluationContext, inbox: InboxResource, deadlines: DeadlinesResource
    ) -> dg.SensorResult:
        said = set(json.loads(context.cursor)) if context.cursor else set()
        built = context.instance.get_materialized_partitions(dg.AssetKey("bilan_report"))
        years = [int(key) for key in YEARS.get_partition_keys()]
        watched = {y for y in years if arrivals.year_folder(inbox.root(), y).is_dir()}
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        late = late_bilans(deadlines.deadlines(), years, {int(y) for y in built}, watched, now)
        new = [y for y in late if y not in said]
        said_now = ", ".join(map(str, new))
        return dg.SensorResult(
            asset_events=[checks.bilan_missing(y, deadlines.deadlines()) for y in new],
            skip_reason=f"bilan late for {said_now}: bilan_on_time failed"
            if new
            else f"no bilan newly late (late: {', '.join(map(str, late)) or 'none'})",
            cursor=json.dumps(sorted(said | set(late))),
        )

    return bilan_deadline_sensor
