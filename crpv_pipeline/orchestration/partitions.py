"""The year partitions: one per reported year, and the year of a run as a whole number.

A partition key is text ("2021") only where Dagster wants it; everywhere else the year is the
``int`` that ``partition_year`` gives.
"""

from __future__ import annotations

import dagster as dg

YEARS = dg.TimeWindowPartitionsDefinition(
    cron_schedule="0 0 1 1 *", start="2015", fmt="%Y", end_offset=1
)
"""One partition per reported year, keys "2015" … the current year."""


def partition_year(context: dg.AssetExecutionContext | dg.OpExecutionContext) -> int:
    """The year of the partition ``context`` runs for."""
    return int(context.partition_key)
