"""The asset check ``returns_awaiting_approval``: warns while exploitable returns await approval.

Kept apart from the assets: it reads ``completeness`` (``warehouse.review.awaiting_approval``)
once the year's tables are derived, and holds no rule of its own.
"""

import warnings

import dagster as dg

from crpv_pipeline.orchestration.partitions import YEARS, partition_year
from crpv_pipeline.orchestration.resources import WarehouseResource
from crpv_pipeline.warehouse.awaiting import approval_words, awaiting_approval

with warnings.catch_warnings():  # checks of partitioned assets: a preview feature of Dagster 1.13
    warnings.simplefilter("ignore", dg.PreviewWarning)

    @dg.asset_check(
        asset="completeness",
        name="returns_awaiting_approval",
        partitions_def=YEARS,
        description=(
            "Warns while exploitable returns of the year await a steward's approval (crpv review);"
            " the bilan says « provisoire » until every one is approved."
        ),
    )
    def returns_awaiting_approval(
        context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> dg.AssetCheckResult:
        year = partition_year(context)
        waiting = awaiting_approval(warehouse.engine(), year)
        description = (
            f"{year}: {len(waiting)} exploitable returns await approval: {approval_words(waiting)}"
            if waiting
            else f"{year}: every exploitable return is approved"
        )
        return dg.AssetCheckResult(
            passed=not waiting,
            severity=dg.AssetCheckSeverity.WARN,
            description=description,
            metadata={
                "year": dg.MetadataValue.text(str(year)),
                "awaiting_count": dg.MetadataValue.int(len(waiting)),
                "awaiting": dg.MetadataValue.md(approval_words(waiting) or "(none)"),
            },
        )
