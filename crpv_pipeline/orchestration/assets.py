"""Dagster assets of the yearly pipeline: one asset per stage, partitioned by year.

inbox_files → validated_returns → submission, fact_activity, fact_activity_public,
validation_failure, load_run → activity_counts, theme_shares, modality_shares, yearly_summary,
completeness, yearly_trend → bilan_report (the national bilan as HTML and .xlsx); and for the
stewards, correction_workbooks (from validated_returns) and steward_overview (from
completeness and validation_failure). validated_returns and the tables it loads are one step,
``validate_and_load``, so that each return is loaded while the next ones are read; selecting
validated_returns alone validates without loading. Each asset calls the domain
functions of ``year``, ``warehouse`` (``audit``, ``reconciliation``…) and adds metadata for the
people watching (built in ``asset_metadata``); no business rule lives here.
"""

import datetime as dt
from collections.abc import Iterator, Sequence
from pathlib import Path

import dagster as dg

from crpv_pipeline import settings
from crpv_pipeline.intake import arrivals
from crpv_pipeline.intake import inbox as inbox_listing
from crpv_pipeline.intake.file_guards import limits_from_environment
from crpv_pipeline.intake.inbox import InboxFile
from crpv_pipeline.model import ReturnResult
from crpv_pipeline.orchestration import asset_metadata, checks
from crpv_pipeline.orchestration.asset_specs import (
    OWNERS,
    STEWARDS,
    personal_data_tags,
    table_out,
    table_spec,
    view_key,
)
from crpv_pipeline.orchestration.partitions import YEARS, partition_year
from crpv_pipeline.orchestration.resources import (
    DeadlinesResource,
    InboxResource,
    OutputResource,
    WarehouseResource,
)
from crpv_pipeline.outputs.report.build import REPORT_FILE_NAME, write_report
from crpv_pipeline.reference.refdata import default_nomenclature
from crpv_pipeline.warehouse.audit import finish_load_run, load_run_of, record_load_run
from crpv_pipeline.warehouse.catalogue import LOADED_TABLES, READS_PREVIOUS_YEAR
from crpv_pipeline.warehouse.derive import DERIVED_TABLES, derive_year
from crpv_pipeline.warehouse.dictionary import view_docs
from crpv_pipeline.warehouse.reconciliation import completeness_of, reconcile_year
from crpv_pipeline.warehouse.schema import ensure_schema
from crpv_pipeline.warehouse.tables import count_rows
from crpv_pipeline.year import load as year_loading
from crpv_pipeline.year import outputs as year_outputs
from crpv_pipeline.year import validate as year_validation
from crpv_pipeline.year import workers as year_workers


@dg.asset(
    partitions_def=YEARS,
    group_name="returns",
    kinds={"excel"},
    owners=OWNERS,
    tags=personal_data_tags("inbox_files"),
    check_specs=[checks.RETURNS_IN_INBOX],
    description=(
        "The returns found in the year's inbox folder and its subfolders (lock and hidden files"
        " ignored)."
    ),
)
def inbox_files(
    context: dg.AssetExecutionContext, inbox: InboxResource
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    year = partition_year(context)
    folder = arrivals.year_folder(inbox.root(), year)
    if not folder.is_dir():
        raise arrivals.NoYearFolder(arrivals.no_year_folder(folder, year))
    files = inbox_listing.inbox_files(inbox.root(), year)
    year_workers.start_worker_server(sum(f.size for f in files), settings.worker_processes())
    context.log.info(f"{len(files)} returns in {folder}")
    yield dg.Output(
        files,
        metadata={
            "dagster/row_count": len(files),
            "dagster/column_schema": asset_metadata.INBOX_SCHEMA,
            "folder": dg.MetadataValue.path(str(folder)),
            "listing": asset_metadata.inbox_listing(files),
            "files": dg.MetadataValue.md(
                "\n".join(f"- `{f.file_name}` ({f.size:,} bytes)" for f in files) or "(none)"
            ),
        },
    )
    yield asset_metadata.inbox_check(year, folder, len(files))


class ValidationConfig(dg.Config):
    """Run configuration of ``validate_and_load`` (the step of ``validated_returns``)."""

    reread_all: bool = False
    """Read every file again, even those the warehouse already knows by their SHA-256."""


@dg.multi_asset(
    outs={
        "validated_returns": dg.AssetOut(
            description=(
                "Every return read and validated (contract §1, §4): file-level rejections, "
                "quarantined rows and warnings, and the typed activities that passed."
            ),
            group_name="returns",
            kinds={"excel", "pandas"},
            owners=OWNERS,
            tags=personal_data_tags("validated_returns"),
            is_required=False,
        ),
        **{table: table_out(table) for table in LOADED_TABLES},
    },
    ins={"inbox_files": dg.AssetIn("inbox_files")},
    internal_asset_deps={
        "validated_returns": {dg.AssetKey("inbox_files")},
        **{
            table: {dg.AssetKey("validated_returns")}
            | ({dg.AssetKey("inbox_files")} if table == "submission" else set())
            for table in LOADED_TABLES
        },
    },
    partitions_def=YEARS,
    can_subset=True,
    check_specs=[checks.VALIDATION_FINDINGS],
    description=(
        "Read and validate every return, and load each into the warehouse as soon as it is "
        "validated (one transaction per return) while worker processes read the next ones; "
        "record the run in load_run. Selecting validated_returns alone validates without loading."
        " The warehouse schema step (re)creates the BI views: their materialisations are reported."
    ),
)
def validate_and_load(
    context: dg.AssetExecutionContext,
    config: ValidationConfig,
    warehouse: WarehouseResource,
    inbox_files: list[InboxFile],
) -> Iterator[dg.Output | dg.MaterializeResult | dg.AssetCheckResult]:
    year = partition_year(context)
    load = any(dg.AssetKey(t) in context.selected_asset_keys for t in LOADED_TABLES)
    limits = limits_from_environment()  # read at run time, never at import
    workers = settings.worker_processes()
    engine = warehouse.engine()
    ensure_schema(engine, default_nomenclature())
    for view in view_docs():
        context.log_event(
            dg.AssetMaterialization(
                asset_key=view_key(view.name),
                description=f"(re)created by the warehouse schema step of the {year} run",
            )
        )
    known = {} if config.reread_all else year_validation.known_files(engine, inbox_files, year)
    if load:
        results, outcomes = year_loading.validate_and_load_year(
            engine,
            inbox_files,
            year,
            context.run.run_id,
            progress=context.log.info,
            known=known,
            limits=limits,
            workers=workers,
        )
        run = load_run_of(
            context.run.run_id, year, asset_metadata.run_started(context), results, outcomes
        )
        record_load_run(engine, run)
        counts = {table: count_rows(engine, table, year) for table in LOADED_TABLES}
    else:
        results = year_validation.validate_year(
            inbox_files, year, context.log.info, known, limits, workers
        )
    if dg.AssetKey("validated_returns") in context.selected_asset_keys:
        yield from asset_metadata.validated_returns_events(year, results)
    if not load:
        return
    extra = {
        "submission": {"resubmissions": asset_metadata.resubmissions(results, outcomes)},
        "load_run": {
            "run_files_read": run.files_read,
            "pipeline_version": run.pipeline_version,
            "reference_data_version": run.reference_data_version,
        },
    }
    for table in LOADED_TABLES:
        yield dg.MaterializeResult(
            asset_key=table,
            metadata={
                "dagster/row_count": counts[table],
                **run.submissions,
                **extra.get(table, {}),
            },
        )


@dg.multi_asset(
    specs=[table_spec(t, ["fact_activity", "submission"], "bilan") for t in DERIVED_TABLES],
    partitions_def=YEARS,
    check_specs=[checks.RECONCILIATION, checks.MISSING_RETURNS],
    description=(
        "Derived tables of the bilan, rebuilt for the year in one transaction; yearly_trend of"
        " the next year too, which compares with this one (reported as its materialisation)."
    ),
)
def derived_tables(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, deadlines: DeadlinesResource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    year = partition_year(context)
    engine = warehouse.engine()
    counts = derive_year(engine, year, deadlines.deadlines())
    measures = reconcile_year(engine, year)
    completeness = completeness_of(engine, year)
    finish_load_run(engine, context.run.run_id, year)
    for table in DERIVED_TABLES:
        yield dg.MaterializeResult(asset_key=table, metadata={"dagster/row_count": counts[table]})
    next_year = str(year + 1)
    if YEARS.has_partition_key(next_year):
        for table in READS_PREVIOUS_YEAR:
            rows = count_rows(engine, table, year + 1)
            if rows:  # the next year was derived: its rows were rebuilt with this year's
                context.log_event(
                    dg.AssetMaterialization(
                        asset_key=table,
                        partition=next_year,
                        description=f"rebuilt with {year}, which it compares with",
                        metadata={"dagster/row_count": rows, "rebuilt_with": str(year)},
                    )
                )
    yield asset_metadata.completeness_check(year, completeness)
    yield asset_metadata.reconciliation_check(year, measures)


def _paths_md(paths: Sequence[Path]) -> dg.MetadataValue:
    return dg.MetadataValue.md("\n".join(f"- `{p}`" for p in paths) or "(none)")


@dg.asset(
    partitions_def=YEARS,
    group_name="stewards",
    kinds={"excel"},
    deps=["plausibility_finding"],  # plausibility warnings in, accepted warnings out
    owners=(*OWNERS, STEWARDS),
    tags=personal_data_tags("correction_workbooks"),
    description=(
        "One correction workbook per return with findings, to send back to the centre as it is: "
        "its own rows copied, every cell to fix in red (errors) or amber (warnings) with a "
        "comment saying how to fix it, and a first sheet « Corrections à apporter »."
    ),
)
def correction_workbooks(
    context: dg.AssetExecutionContext,
    output: OutputResource,
    warehouse: WarehouseResource,
    validated_returns: list[ReturnResult],
) -> dg.MaterializeResult:
    folder = output.year_folder(partition_year(context)) / "corrections"
    workers = settings.worker_processes()
    engine = warehouse.engine()
    before = asset_metadata.file_states(sorted(folder.glob("*.xlsx")))
    paths = year_outputs.write_corrections(validated_returns, folder, workers, engine)
    kept = asset_metadata.left_as_is(before, paths)
    context.log.info(
        f"{len(paths)} correction workbooks in {folder}"
        + (f" ({len(kept)} {asset_metadata.LEFT_AS_IS})" if kept else "")
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(paths),
            "folder": dg.MetadataValue.path(str(folder)),
            "workbooks": _paths_md(paths),
            "workbooks_left_as_is": len(kept),
        }
    )


@dg.asset(
    partitions_def=YEARS,
    group_name="stewards",
    kinds={"excel"},
    owners=(*OWNERS, STEWARDS),
    tags=personal_data_tags("steward_overview"),
    deps=["completeness", "validation_failure"],
    description=(
        "The stewards' workbook of the year: completeness of every expected centre (status, "
        "received at, rows loaded, errors, warnings) and every finding of every centre."
    ),
)
def steward_overview(
    context: dg.AssetExecutionContext, output: OutputResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    year = partition_year(context)
    engine = warehouse.engine()
    folder = output.year_folder(year)
    overview = folder / year_outputs.OVERVIEW_FILE_NAME.format(year=year)
    before = asset_metadata.file_states([overview])
    path = year_outputs.write_year_overview(engine, year, folder, context.log.warning)
    outcome = asset_metadata.LEFT_AS_IS if asset_metadata.left_as_is(before, [path]) else "written"
    context.log.info(f"overview {year} {outcome}: {path}")
    centres = count_rows(engine, "completeness", year)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": centres,
            "path": dg.MetadataValue.path(str(path)),
            "outcome": outcome,
        }
    )


@dg.asset(
    partitions_def=YEARS,
    group_name="bilan",
    kinds={"html", "excel"},
    owners=OWNERS,
    tags=personal_data_tags("bilan_report"),
    check_specs=[checks.BILAN_ON_TIME],
    deps=[
        "yearly_summary",
        "yearly_trend",
        "theme_shares",
        "modality_shares",
        "activity_counts",
        "completeness",
        "submission",
        "validation_failure",
    ],
    description=(
        "The national bilan of the year as people read it: `bilan_<year>.html`, one self-contained "
        "page in French (headline figures and their change, charts, table per centre, "
        "data-quality annex), and `bilan_<year>.xlsx`, its tables for analysts."
    ),
)
def bilan_report(
    context: dg.AssetExecutionContext,
    output: OutputResource,
    warehouse: WarehouseResource,
    deadlines: DeadlinesResource,
) -> dg.MaterializeResult:
    year = partition_year(context)
    target = output.year_folder(year) / REPORT_FILE_NAME.format(year=year)
    before = asset_metadata.file_states([target, target.with_suffix(".xlsx")])
    page, workbook = write_report(warehouse.engine(), year, target)
    kept = asset_metadata.left_as_is(before, [page, workbook])
    outcome = asset_metadata.LEFT_AS_IS if len(kept) == 2 else "written"
    context.log.info(f"bilan {year} {outcome}: {page}, {workbook}")
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(page)),
            "workbook": dg.MetadataValue.path(str(workbook)),
            "outcome": outcome,
        },
        check_results=[checks.bilan_built(year, deadlines.deadlines(), now)],
    )


ALL_ASSETS = [
    inbox_files,
    validate_and_load,
    derived_tables,
    correction_workbooks,
    steward_overview,
    bilan_report,
]
