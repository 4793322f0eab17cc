"""Asset checks of a year: their specs, and the check that the year's bilan came on time.

Belongs here: which checks there are, on which asset, partitioned by year; the results of
``bilan_on_time``, from ``bilan_report`` when it is built and from the deadline sensor when a
year's bilan is due and missing. Stays out: the other checks' results (``asset_metadata``, from
the domain's completeness and reconciliation), when a bilan is due (``reference.deadlines``).
"""

from __future__ import annotations

import datetime as dt
import warnings

import dagster as dg

from crpv_pipeline.orchestration.partitions import YEARS
from crpv_pipeline.reference.deadlines import BILAN_DUE_DAYS, Deadlines


def check_spec(name: str, asset: str, description: str, blocking: bool = False):
    """A check of one year: each partition keeps its own result (the UI shows it per year).

    Checks of partitioned assets are a preview feature of Dagster 1.13; without
    ``partitions_def`` a check keeps one result for all years, that of the last run.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return dg.AssetCheckSpec(
            name, asset=asset, description=description, blocking=blocking, partitions_def=YEARS
        )


RETURNS_IN_INBOX = check_spec(
    "returns_in_inbox",
    "inbox_files",
    "Warns when the year's inbox folder holds no return (the folder it looked in is "
    "named); a year with no folder at all fails the run.",
)
VALIDATION_FINDINGS = check_spec(
    "validation_findings",
    "validated_returns",
    "Warns when the returns carry validation findings for stewards to review.",
)
RECONCILIATION = check_spec(
    "reconciliation",
    "yearly_summary",
    "Derived totals match fact_activity (half-days, activities, theme shares add up "
    "to 100); a mismatch blocks publication.",
    blocking=True,
)
MISSING_RETURNS = check_spec(
    "missing_returns",
    "completeness",
    "Warns while expected centres have no exploitable return for the year (nothing "
    "sent, rejected, or no activity loaded), naming each and why; lists those received "
    "after the deadline.",
)
BILAN_ON_TIME = check_spec(
    "bilan_on_time",
    "bilan_report",
    f"Fails when the year's bilan was not built within {BILAN_DUE_DAYS} days of its returns'"
    " deadline (CRPV_DEADLINES; looked at every hour by bilan_deadline_sensor, for the years"
    " with an inbox folder and the latest year due); passes once it is built.",
)


def _due_text(year: int, deadlines: Deadlines) -> str:
    deadline = deadlines.for_year(year)
    due = deadline + dt.timedelta(days=BILAN_DUE_DAYS)
    return (
        f"due by the end of {due.isoformat()} (Paris), {BILAN_DUE_DAYS} days after the returns'"
        f" deadline of {deadline.isoformat()}"
    )


def _metadata(year: int, deadlines: Deadlines) -> dict[str, dg.MetadataValue]:
    return {
        "year": dg.MetadataValue.text(str(year)),
        "returns_deadline": dg.MetadataValue.text(deadlines.for_year(year).isoformat()),
        "bilan_due": dg.MetadataValue.text(
            (deadlines.for_year(year) + dt.timedelta(days=BILAN_DUE_DAYS)).isoformat()
        ),
    }


def bilan_built(year: int, deadlines: Deadlines, now: dt.datetime) -> dg.AssetCheckResult:
    """Passes: the bilan of ``year`` is built (``now``, UTC naive), saying if after its due day."""
    late = now >= deadlines.bilan_due(year)
    return dg.AssetCheckResult(
        check_name=BILAN_ON_TIME.name,
        asset_key="bilan_report",
        passed=True,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"{year}: bilan built{' after its due day' if late else ''}, "
        + _due_text(year, deadlines),
        metadata=_metadata(year, deadlines),
    )


def bilan_missing(year: int, deadlines: Deadlines) -> dg.AssetCheckEvaluation:
    """Fails: the bilan of ``year`` is due and was never built (reported by the sensor)."""
    return dg.AssetCheckEvaluation(
        asset_key=dg.AssetKey("bilan_report"),
        check_name=BILAN_ON_TIME.name,
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"{year}: bilan late: not built, " + _due_text(year, deadlines),
        metadata=_metadata(year, deadlines),
        partition=str(year),
    )
