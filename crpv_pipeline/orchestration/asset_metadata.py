"""Dagster metadata for the assets of a run: what the UI shows beside each materialisation.

Belongs here: turning domain results (inbox files, load outcomes, completeness) into Dagster
metadata values and check results, and reading the run's start from the instance. Stays out:
every decision (``year``, ``warehouse.loading``, ``warehouse.reconciliation``); the assets in
``assets`` call these.

The UI plots every numeric metadata value across materialisations and check results: numbers
are kept for what is worth following from one year to the next (counts, totals, seconds);
what only says how a result reads (a share that must be 100 %, the centres expected) is text,
rounded the French way.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import dagster as dg

from crpv_pipeline.intake.arrivals import empty_year_folder
from crpv_pipeline.intake.inbox import InboxFile
from crpv_pipeline.intake.timing import add_seconds
from crpv_pipeline.model import ReturnResult
from crpv_pipeline.reference.parsing import pct
from crpv_pipeline.warehouse.loading import LoadOutcome
from crpv_pipeline.warehouse.reconciliation import Completeness, Measure

INBOX_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("file_name", "string", description="Name of the file in the year folder"),
        dg.TableColumn("size", "int", description="Size in bytes"),
        dg.TableColumn("received_at", "datetime", description="Modification time (UTC)"),
        dg.TableColumn("sha256", "string", description="SHA-256 of the file's bytes"),
    ]
)
"""Columns of the ``inbox_files`` listing."""

SAMPLE_FINDINGS = 25
"""Findings shown in the metadata of ``validated_returns`` (all are in the warehouse)."""


def inbox_listing(files: Sequence[InboxFile]) -> dg.TableMetadataValue:
    """The inbox files as a table (name, size, received, hash)."""
    return dg.MetadataValue.table(
        [
            dg.TableRecord(
                {
                    "file_name": f.file_name,
                    "size": f.size,
                    "received_at": f.received_at.isoformat(sep=" "),
                    "sha256": f.sha256 or "(unreadable)",
                }
            )
            for f in files
        ],
        schema=INBOX_SCHEMA,
    )


def findings_by_centre(results: Sequence[ReturnResult]) -> dg.TableMetadataValue:
    """Findings counted per return: file, centre, status, rows, errors, warnings."""
    records = [
        dg.TableRecord(
            {
                "file": r.file_name,
                "centre": r.centre_code or "?",
                "status": r.status,
                "rows_read": r.rows_read,
                "rows_loaded": r.rows_loaded,
                "errors": r.n_errors,
                "warnings": r.n_warnings,
            }
        )
        for r in results
    ]
    return dg.MetadataValue.table(
        records,
        schema=dg.TableSchema(
            columns=[
                dg.TableColumn("file", "string"),
                dg.TableColumn("centre", "string"),
                dg.TableColumn("status", "string"),
                dg.TableColumn("rows_read", "int"),
                dg.TableColumn("rows_loaded", "int"),
                dg.TableColumn("errors", "int"),
                dg.TableColumn("warnings", "int"),
            ]
        ),
    )


def sample_findings(results: Sequence[ReturnResult]) -> dg.TableMetadataValue:
    """The first ``SAMPLE_FINDINGS`` findings of the year, with their cell and message."""
    findings = [f for r in results for f in r.findings][:SAMPLE_FINDINGS]
    return dg.MetadataValue.table(
        [
            dg.TableRecord(
                {
                    "file": f.file_name,
                    "cell": f.location,
                    "rule": f.rule,
                    "severity": f.severity,
                    "value": f.value or "",
                    "message": f.message,
                }
            )
            for f in findings
        ],
        schema=dg.TableSchema(
            columns=[
                dg.TableColumn(name, "string")
                for name in ("file", "cell", "rule", "severity", "value", "message")
            ]
        ),
    )


def validated_returns_events(
    year: int, results: list[ReturnResult]
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """The output ``validated_returns`` with its metadata, and its ``validation_findings``."""
    seconds = add_seconds(r.stage_seconds for r in results)
    by_rule = Counter(f.rule for r in results for f in r.findings)
    by_centre = findings_by_centre(results)
    yield dg.Output(
        results,
        output_name="validated_returns",
        metadata={
            "dagster/row_count": sum(r.rows_loaded for r in results),
            "returns": len(results),
            "returns_read": sum(r.recorded_as is None for r in results),
            "returns_known": sum(r.recorded_as is not None for r in results),
            "rejected_returns": sum(r.rejected for r in results),
            "rows_read": sum(r.rows_read for r in results),
            "rows_quarantined": sum(r.rows_rejected for r in results if not r.rejected),
            "errors": sum(r.n_errors for r in results),
            "warnings": sum(r.n_warnings for r in results),
            "findings_by_centre": by_centre,
            "sample_findings": sample_findings(results),
            **{
                f"seconds_{stage}": dg.MetadataValue.float(round(value, 3))
                for stage, value in seconds.items()
            },
        },
    )
    n_findings = sum(by_rule.values())
    yield dg.AssetCheckResult(
        check_name="validation_findings",
        asset_key="validated_returns",
        passed=n_findings == 0,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{year}: {n_findings} findings for stewards to review",
        metadata={
            "findings_by_centre": by_centre,
            "findings_by_rule": dg.MetadataValue.json(dict(by_rule.most_common())),
        },
    )


def resubmissions(
    results: Sequence[ReturnResult], outcomes: Sequence[LoadOutcome]
) -> dg.TableMetadataValue:
    """How each return loaded by this run differs from the submission it superseded."""
    records = [
        dg.TableRecord(
            {
                "centre": r.centre_code or "?",
                "file": r.file_name,
                "submission": o.submission_id or 0,
                "replaces": o.diff.replaces,
                "added": o.diff.added,
                "removed": o.diff.removed,
                "changed": o.diff.changed,
                "half_days": f"{o.diff.half_days_before} → {o.diff.half_days_after}",
            }
        )
        for r, o in zip(results, outcomes, strict=True)
        if o.diff is not None
    ]
    return dg.MetadataValue.table(
        records,
        schema=dg.TableSchema(
            columns=[
                dg.TableColumn("centre", "string"),
                dg.TableColumn("file", "string"),
                dg.TableColumn("submission", "int"),
                dg.TableColumn("replaces", "int"),
                dg.TableColumn("added", "int"),
                dg.TableColumn("removed", "int"),
                dg.TableColumn("changed", "int"),
                dg.TableColumn("half_days", "string", description="before → after"),
            ]
        ),
    )


def run_started(context: dg.AssetExecutionContext) -> dt.datetime | None:
    """When the run started according to the instance (UTC, naive), if it says."""
    record = context.instance.get_run_record_by_id(context.run.run_id)
    if record is None or record.start_time is None:
        return None
    return dt.datetime.fromtimestamp(record.start_time, dt.UTC).replace(tzinfo=None, microsecond=0)


def completeness_check(year: int, completeness: Completeness) -> dg.AssetCheckResult:
    """Warns while expected centres have no exploitable return; lists those who sent late."""
    missing, late = completeness.missing, completeness.late
    unusable = completeness.not_exploitable
    description = (
        f"{len(unusable)} of {completeness.expected} expected centres have no exploitable return"
        f" for {year}: {completeness.without_exploitable_return()}"
        if unusable
        else f"all {completeness.expected} expected centres have sent an exploitable return"
        f" for {year}"
    )
    return dg.AssetCheckResult(
        check_name="missing_returns",
        asset_key="completeness",
        passed=not unusable,
        severity=dg.AssetCheckSeverity.WARN,
        description=description + (f"; {len(late)} after the deadline" if late else ""),
        metadata={
            "year": dg.MetadataValue.text(str(year)),
            "expected": dg.MetadataValue.text(f"{completeness.expected} centres"),
            "missing_count": dg.MetadataValue.int(len(missing)),
            "late_count": dg.MetadataValue.int(len(late)),
            "missing": dg.MetadataValue.md(", ".join(missing) or "(none)"),
            "not_exploitable": dg.MetadataValue.md(
                completeness.without_exploitable_return() or "(none)"
            ),
            "late": dg.MetadataValue.md(", ".join(late) or "(none)"),
        },
    )


def _measure_value(measure: Measure) -> dg.MetadataValue:
    """A total as a whole number (followed across years); a share as text, « 100,0 % »."""
    if measure.measure.endswith("_pct"):
        return dg.MetadataValue.text(pct(measure.actual))
    if float(measure.actual).is_integer():
        return dg.MetadataValue.int(int(measure.actual))
    return dg.MetadataValue.float(round(measure.actual, 1))


def reconciliation_check(year: int, measures: Sequence[Measure]) -> dg.AssetCheckResult:
    """Fails (blocking) when a derived total disagrees with ``fact_activity``, saying which."""
    mismatches = [m for m in measures if not m.ok]
    description = "; ".join(  # enough digits to see a difference above the tolerance
        f"{m.measure}: expected {m.expected:.10g}, found {m.actual:.10g}" for m in mismatches
    )
    return dg.AssetCheckResult(
        check_name="reconciliation",
        asset_key="yearly_summary",
        passed=not mismatches,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"{year}: " + (description or "all derived totals match fact_activity"),
        metadata={
            "year": dg.MetadataValue.text(str(year)),
            **{m.measure: _measure_value(m) for m in measures},
        },
    )


def inbox_check(year: int, folder: Path, n_files: int) -> dg.AssetCheckResult:
    """Warns when the year's inbox folder holds no return, naming the folder looked in."""
    return dg.AssetCheckResult(
        check_name="returns_in_inbox",
        asset_key="inbox_files",
        passed=n_files > 0,
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            f"{year}: {n_files} returns in {folder}"
            if n_files
            else f"{year}: " + empty_year_folder(folder)
        ),
        metadata={
            "year": dg.MetadataValue.text(str(year)),
            "folder": dg.MetadataValue.path(str(folder)),
        },
    )


LEFT_AS_IS = "unchanged, left as is"
"""What an output asset says of files its run did not touch (``fingerprint``, ``atomic``)."""


def file_states(paths: Sequence[Path]) -> dict[Path, tuple[int, int, int] | None]:
    """Each file's inode, modification time and size (None when absent): taken before writing."""
    states: dict[Path, tuple[int, int, int] | None] = {}
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            states[path] = None
        else:
            states[path] = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
    return states


def left_as_is(
    before: dict[Path, tuple[int, int, int] | None], paths: Sequence[Path]
) -> list[Path]:
    """The ``paths`` a write left untouched: there before, same inode, time and size after."""
    after = file_states(paths)
    return [p for p in paths if before.get(p) is not None and before.get(p) == after[p]]
