"""What the UI says of every asset besides its data: owners, tags, versions, tables and views.

Belongs here: the owners of the assets, the tag marking those that hold personal data (free
text, cells as written, file names: README, *Personal data*), the code version (the pipeline's
and the reference data's), the warehouse tables and BI views as Dagster specs (description,
column schema, fully qualified name on the configured database), the deadline of the year's
bilan as a freshness policy. ``definitions`` applies what depends on the configured warehouse
and reference data (``for_location``). Stays out: the descriptions and columns themselves
(``warehouse.dictionary`` parses them from ``sql/``), deadlines (``reference.deadlines``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

import dagster as dg
from sqlalchemy.engine import make_url

from crpv_pipeline import __version__
from crpv_pipeline.reference.deadlines import AGENCY_TIME_ZONE, BILAN_DUE_DAYS, Deadlines
from crpv_pipeline.reference.refdata import default_nomenclature
from crpv_pipeline.warehouse.catalogue import (
    COMPUTED_TABLES,
    DERIVED_TABLES,
    LOADED_TABLES,
    sql_dir,
)
from crpv_pipeline.warehouse.dictionary import BI_SCHEMA, bi_view_name, load_dictionary, view_docs
from crpv_pipeline.warehouse.dictionary import READS_PREVIOUS_YEAR as _READS_PREVIOUS_YEAR

OWNERS = ("team:crpv-data",)
"""Who answers for every asset: the pipeline's data team."""
STEWARDS = "team:crpv-stewards"
"""Also owners of what is sent to the centres and what the stewards follow up."""

PERSONAL_DATA_TAG = "crpv/personal_data"
"""Tag of the assets that may hold personal data, and of their columns that do (RGPD)."""
FREE_TEXT = "free_text"
"""Text the centres wrote (titles, partners, comments): may name people."""
CELL_VALUES = "cell_values"
"""Any cell as written (findings' values, whole returns and their copies): may hold anything."""
FILE_NAMES = "file_names"
"""File names as received: centres sometimes put a person's name in them."""

PERSONAL_COLUMNS: dict[str, dict[str, str]] = {
    "fact_activity": {"title": FREE_TEXT, "partners": FREE_TEXT, "comment": FREE_TEXT},
    "validation_failure": {"value": CELL_VALUES, "file_name": FILE_NAMES},
    "submission": {"file_name": FILE_NAMES},
    "bi.activities": {"title": FREE_TEXT, "partners": FREE_TEXT, "comment": FREE_TEXT},
    "bi.validation_failures": {
        "value": CELL_VALUES,
        "file_name": FILE_NAMES,
        "accepted_reason": FREE_TEXT,
    },
    "bi.submissions": {"file_name": FILE_NAMES},
    "bi.completeness": {"file_name": FILE_NAMES, "held_file_name": FILE_NAMES},
    "bi.plausibility_findings": {"file_name": FILE_NAMES, "accepted_reason": FREE_TEXT},
    "bi.steward_decisions": {
        "file_name": FILE_NAMES,
        "decided_by": FREE_TEXT,
        "reason": FREE_TEXT,
    },
}
"""Columns of the tables and views (``bi.<view>``) holding what the centres wrote."""

PERSONAL_ASSETS: dict[str, str] = {
    "inbox_files": CELL_VALUES,
    "validated_returns": CELL_VALUES,
    "correction_workbooks": CELL_VALUES,
    "steward_overview": CELL_VALUES,
    "bilan_report": FILE_NAMES,
}
"""Assets other than tables holding returns' cells or file names (the bilan's annex names the
file behind each centre's figures)."""

_BREADTH = (FILE_NAMES, FREE_TEXT, CELL_VALUES)


def personal_data_tags(name: str) -> dict[str, str]:
    """The asset's personal-data tag, the broadest kind it holds; none if it holds none."""
    kinds = set(PERSONAL_COLUMNS.get(name, {}).values()) | (
        {PERSONAL_ASSETS[name]} if name in PERSONAL_ASSETS else set()
    )
    return {PERSONAL_DATA_TAG: max(kinds, key=_BREADTH.index)} if kinds else {}


def code_version() -> str:
    """The pipeline's version and the reference data's (``load_run`` records both).

    An asset materialised by another version shows in the UI as changed since: an upgrade of
    the software or of the reference lists (``CRPV_REFERENCE_DIR``) says which years to re-run.
    """
    return f"{__version__}+ref.{default_nomenclature().version}"


def table_name(table: str, url: str, schema: str | None = None) -> str:
    """The table's fully qualified name on the warehouse of ``url``, as Dagster shows it.

    PostgreSQL: ``database.schema.table`` (``crpv.public.fact_activity``, ``crpv.bi.completeness``);
    SQLite, whose database is a file: ``main.fact_activity``, ``main.bi_completeness``.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        qualified = f"{schema or 'public'}.{table}"
        return f"{parsed.database}.{qualified}" if parsed.database else qualified
    return f"main.{table}"


def _column(name: str, type_: str, description: str, personal: str | None) -> dg.TableColumn:
    tags = {PERSONAL_DATA_TAG: personal} if personal else None
    return dg.TableColumn(name=name, type=type_, description=description, tags=tags)


def table_metadata(table: str) -> dict[str, object]:
    """Column schema and (unqualified until ``for_location``) name of a warehouse table."""
    personal = PERSONAL_COLUMNS.get(table, {})
    return {
        "dagster/table_name": table,
        "dagster/column_schema": dg.TableSchema(
            columns=[
                _column(c.name, c.type, c.description, personal.get(c.name))
                for c in load_dictionary()[table].columns
            ]
        ),
    }


def _tables_read(name: str) -> set[str]:
    if name in COMPUTED_TABLES:  # computed in Python from fact_activity (plausibility)
        return set()
    text = (sql_dir() / "derived" / f"{name}.sql").read_text(encoding="utf-8")
    return {t for t in DERIVED_TABLES if t != name and re.search(rf"\b{t}\b", text)}


def table_spec(table: str, deps: Sequence[str], group: str) -> dg.AssetSpec:
    """A derived table of the year; a table reading the previous year's rows depends on them.

    ``yearly_trend`` of Y compares Y with Y - 1: it depends on Y - 1 and Y of the derived
    tables it reads, so rebuilding Y makes Y + 1 change too (``derived_tables`` reports it).
    """
    previous = dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=0)
    read = _tables_read(table) if table in _READS_PREVIOUS_YEAR else set()
    return dg.AssetSpec(
        key=table,
        deps=[*deps, *(dg.AssetDep(t, partition_mapping=previous) for t in sorted(read))],
        description=load_dictionary()[table].description,
        group_name=group,
        kinds={"sql", "table"},
        metadata=table_metadata(table),
        owners=OWNERS,
        tags=personal_data_tags(table),
    )


def table_out(table: str) -> dg.AssetOut:
    """A table written by ``validate_and_load`` (no value: the table is the asset)."""
    return dg.AssetOut(
        dagster_type=dg.Nothing,
        description=load_dictionary()[table].description,
        group_name="warehouse",
        kinds={"sql", "table"},
        metadata=table_metadata(table),
        owners=OWNERS,
        tags=personal_data_tags(table),
        is_required=False,
    )


def view_key(view: str) -> dg.AssetKey:
    """The asset of a BI view: ``bi/<view>`` whatever the database calls it."""
    return dg.AssetKey([BI_SCHEMA, view])


def _view_column_type(source: str) -> str:
    table, _, column = source.partition(".")
    doc = load_dictionary().get(table)
    types = {c.name: c.type for c in doc.columns} if doc else {}
    return types.get(column, "expression")


def view_specs() -> list[dg.AssetSpec]:
    """The BI views of ``sql/bi``, each depending on the pipeline's tables it reads.

    Not executable by themselves: ``validate_and_load`` reports their materialisation when the
    warehouse schema step (re)creates them.
    """
    tables = (*LOADED_TABLES, *DERIVED_TABLES)
    specs = []
    for view in view_docs():
        personal = PERSONAL_COLUMNS.get(f"{BI_SCHEMA}.{view.name}", {})
        reads = [t for t in tables if re.search(rf"\b{t}\b", view.select)]
        specs.append(
            dg.AssetSpec(
                key=view_key(view.name),
                deps=reads,
                description=view.description,
                group_name=BI_SCHEMA,
                kinds={"sql", "view"},
                metadata={
                    "dagster/table_name": bi_view_name(view.name, "sqlite"),
                    "dagster/column_schema": dg.TableSchema(
                        columns=[
                            _column(
                                c.name,
                                _view_column_type(c.source),
                                c.description,
                                personal.get(c.name),
                            )
                            for c in view.columns
                        ]
                    ),
                },
                owners=OWNERS,
                tags=personal_data_tags(f"{BI_SCHEMA}.{view.name}"),
            )
        )
    return specs


def bilan_freshness(deadlines: Deadlines) -> dg.FreshnessPolicy:
    """The bilan is expected each year between the returns' deadline and ``BILAN_DUE_DAYS`` later.

    A cron in Paris time at the end of that window (midnight after 30 April for 31 March): past
    it, a bilan last built before the deadline day ended (or never) fails the policy until the
    next one is built. Per-year deadlines (``CRPV_DEADLINES``' exceptions) are for the
    ``bilan_on_time`` check, which judges each year's partition.
    """
    deadline = Deadlines(deadlines.month, deadlines.day).for_year(2000)  # a common year (2001)
    end = deadline + dt.timedelta(days=BILAN_DUE_DAYS + 1)
    return dg.FreshnessPolicy.cron(
        deadline_cron=f"0 0 {end.day} {end.month} *",
        lower_bound_delta=dt.timedelta(days=BILAN_DUE_DAYS),
        timezone=str(AGENCY_TIME_ZONE),
    )


def for_location(spec: dg.AssetSpec, url: str, deadlines: Deadlines) -> dg.AssetSpec:
    """``spec`` on the configured warehouse: its database's kind, qualified names, versions."""
    backend = make_url(url).get_backend_name()
    kind = "postgres" if backend == "postgresql" else backend
    spec = spec.replace_attributes(code_version=code_version())
    if spec.key == dg.AssetKey("bilan_report"):
        spec = spec.replace_attributes(freshness_policy=bilan_freshness(deadlines))
    if "sql" not in spec.kinds:
        return spec
    if spec.key.has_prefix([BI_SCHEMA]):
        view = spec.key.path[-1]
        if backend == "postgresql":
            qualified = table_name(view, url, BI_SCHEMA)
        else:
            qualified = table_name(bi_view_name(view, backend), url)
    else:
        qualified = table_name(spec.key.path[-1], url)
    return spec.merge_attributes(kinds={kind}, metadata={"dagster/table_name": qualified})
