"""The national bilan of a year, as people read it: one HTML file and its tables as ``.xlsx``.

``build_bilan`` reads the warehouse (the derived tables, the dimensions for the French labels,
and the submissions and findings for the data-quality annex) and lays out the report's tables
(``Bilan``, in ``bilan``); ``write_report`` renders them as a self-contained HTML page with its
charts inline (``html``, ``charts``) and as a workbook (``xlsx``); the tables themselves are laid
out by ``tables`` and ``annex``. What stays out: computing what the warehouse derives (totals,
shares and changes are read, not recomputed), Dagster, and the command line. Matplotlib is only
imported when a report is drawn: files that already hold the same bilan are left as they are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from crpv_pipeline.outputs.fingerprint import inputs_fingerprint, refresh
from crpv_pipeline.outputs.report import annex
from crpv_pipeline.outputs.report import tables as layout
from crpv_pipeline.outputs.report.bilan import TITLE, Bilan, NoDataForYear, NotFinal
from crpv_pipeline.outputs.report.followup import followup_counts, followup_table
from crpv_pipeline.outputs.report.tables import REMOTE, USED_STATUSES, Column, ReportTable
from crpv_pipeline.reference.statuses import STATUS_LABELS
from crpv_pipeline.warehouse.audit import last_change
from crpv_pipeline.warehouse.decisions import read_accepted_findings
from crpv_pipeline.warehouse.engine import WarehouseError, failure_reason
from crpv_pipeline.warehouse.tables import read_table

__all__ = [
    "Bilan",
    "Column",
    "NoDataForYear",
    "NotFinal",
    "REPORT_FILE_NAME",
    "ReportTable",
    "STATUS_LABELS",
    "build_bilan",
    "write_report",
]


REPORT_FILE_NAME = "bilan_{year}.html"
"""The page's default file name; the workbook has the same stem (``bilan_2021.xlsx``)."""


def build_bilan(engine: Engine, year: int) -> Bilan:
    """Read the warehouse and lay out the bilan of ``year``.

    Raises ``NoDataForYear`` when ``yearly_summary`` has no row for the year (the year was
    never run), and ``WarehouseError`` when the warehouse cannot be read.
    """
    year = int(year)
    try:
        has_summary = sa.inspect(engine).has_table("yearly_summary")
    except SQLAlchemyError as err:
        raise WarehouseError(f"reading the warehouse failed: {failure_reason(err)}") from err
    summaries = read_table(engine, "yearly_summary") if has_summary else pd.DataFrame()
    if summaries.empty or year not in set(summaries["year"]):
        known = ", ".join(str(y) for y in sorted(summaries.get("year", []))) or "none"
        raise NoDataForYear(
            f"the warehouse has no data for {year} (years derived: {known}); "
            f"run `crpv run --year {year}` first"
        )
    by_year = summaries.set_index("year", drop=False)
    trends = read_table(engine, "yearly_trend").set_index("year", drop=False)
    centres = read_table(engine, "dim_centre").set_index("centre_code")
    types = read_table(engine, "dim_activity_type")
    modalities = read_table(engine, "dim_modality").sort_values("sort_order")
    themes = read_table(engine, "theme_shares", year).merge(
        read_table(engine, "dim_theme"), on="theme_code"
    )
    themes = themes.sort_values(["share_half_days_pct", "sort_order"], ascending=[False, True])
    completeness = read_table(engine, "completeness", year)
    submissions = read_table(engine, "submission", year)
    current = completeness.merge(
        submissions.drop(columns=["year", "centre_code", "received_at", "rows_loaded"]),
        on="submission_id",
        how="left",
        suffixes=("", "_submission"),
    )
    current["name"] = current["centre_code"].map(centres["name"])
    current["region"] = current["centre_code"].map(centres["region"])
    current["sort_order"] = current["centre_code"].map(centres["sort_order"])
    current = current.sort_values("sort_order")
    all_failures = read_table(engine, "validation_failure", year)
    failures = all_failures[all_failures["submission_id"].isin(current["submission_id"].dropna())]

    summary = by_year.loc[year].to_dict()
    previous = by_year.loc[year - 1].to_dict() if year - 1 in by_year.index else None
    trend = trends.loc[year].to_dict() if year in trends.index else None
    years = by_year.reindex(
        columns=["year", "half_days", "n_activities", "participants", "centres_with_participants"]
    ).reset_index(drop=True)
    for column in ("half_days_change_pct", "half_days_change", "centres_compared"):
        years[column] = years["year"].map(trends.reindex(columns=[column])[column])
    by_type = _by_type(read_table(engine, "modality_shares", year), types, modalities)
    counts = read_table(engine, "activity_counts", year)
    tables = (
        layout.headline_table(year, summary, previous, trend),
        layout.years_table(years),
        layout.types_table(by_type, modalities),
        layout.themes_table(themes),
        layout.centres_table(current, counts, summary),
        annex.completeness_table(current),
        annex.quality_table(current),
        annex.rules_table(failures, _rule_labels(engine)),
        annex.files_table(current),
        annex.set_aside_table(_set_aside(submissions, current, all_failures, centres)),
        followup_table(_followup(engine, year, all_failures, submissions, current)),
    )
    return Bilan(
        year=year,
        summary=summary,
        previous=previous,
        trend=trend,
        years=years,
        by_type=by_type,
        modalities=tuple(zip(modalities["modality_code"], modalities["label"], strict=True)),
        themes=themes,
        missing=_names(current, "missing"),
        rejected=_names(current, "rejected"),
        late=_late(current),
        deadline=_deadline(current),
        tables=tables,
        awaiting_approval=_awaiting_approval(current),
        as_of=last_change(engine),
    )


def _awaiting_approval(current: pd.DataFrame) -> tuple[str, ...]:
    """Centres (by name) whose exploitable return a steward has not approved yet."""
    if "approval" not in current.columns:
        return ()
    waiting = current["approval"].notna() & (current["approval"] != "approved")
    return tuple(current.loc[waiting, "name"])


def _followup(
    engine: Engine,
    year: int,
    failures: pd.DataFrame,
    submissions: pd.DataFrame,
    current: pd.DataFrame,
) -> dict[str, dict[str, int]]:
    """Findings open, accepted by a steward and corrected by a new file (``followup``)."""
    inspector = sa.inspect(engine)
    if not inspector.has_table("plausibility_finding"):  # a warehouse of an earlier version
        plausible, accepted = pd.DataFrame(columns=["file_sha256", "finding_key"]), set()
    else:
        plausible = read_table(engine, "plausibility_finding", year)
        plausible = plausible[plausible["submission_id"].notna()]
        accepted = read_accepted_findings(engine, year)
    used = current.loc[current["status"].isin(USED_STATUSES), "submission_id"].dropna()
    ids = {int(i) for i in used}
    return followup_counts(failures, submissions, ids, plausible, accepted)


def _rule_labels(engine: Engine) -> dict[str, str]:
    """Rule id → French label (``dim_rule``; none in a warehouse of an earlier version)."""
    if not sa.inspect(engine).has_table("dim_rule"):
        return {}
    rules = read_table(engine, "dim_rule")
    return dict(zip(rules["rule"], rules["label"], strict=True))


def _set_aside(
    submissions: pd.DataFrame,
    current: pd.DataFrame,
    failures: pd.DataFrame,
    centres: pd.DataFrame,
) -> pd.DataFrame:
    """Files of the year whose figures are not used, with the reason why.

    Neither loaded nor superseded, and newer than the file the centre's figures come from (an
    older rejected file was corrected since). ``reason`` joins the messages of the file's
    errors, in the order they were found.
    """
    used = current[current["status"].isin(USED_STATUSES)].set_index("centre_code")
    used_id = submissions["centre_code"].map(used["submission_id"])
    aside = submissions[
        ~submissions["status"].isin((*USED_STATUSES, "superseded"))
        & (used_id.isna() | (submissions["submission_id"] > used_id.fillna(-1)))
    ].copy()
    errors = failures[failures["severity"] == "error"].sort_values("failure_id")
    reasons = errors.groupby("submission_id")["message"].agg(" ".join)
    aside["reason"] = aside["submission_id"].map(reasons)
    aside["name"] = aside["centre_code"].map(centres["name"])
    return aside.sort_values("submission_id")


def _names(current: pd.DataFrame, status: str) -> tuple[str, ...]:
    return tuple(current.loc[current["status"] == status, "name"])


def _deadline(current: pd.DataFrame) -> Any:
    """The year's deadline, when the warehouse records one (``completeness.deadline``)."""
    if "deadline" not in current.columns:
        return None
    known = current["deadline"].dropna()
    return known.iloc[0] if len(known) else None


def _late(current: pd.DataFrame) -> tuple[str, ...]:
    """Centres whose current submission came after the deadline."""
    if "received_on_time" not in current.columns:
        return ()
    flags = current["received_on_time"]
    return tuple(current.loc[flags.notna() & ~flags.fillna(True).astype(bool), "name"])


def _by_type(shares: pd.DataFrame, types: pd.DataFrame, modalities: pd.DataFrame) -> pd.DataFrame:
    """Half-days per activity type (rows, reference order) and modality (columns, codes).

    ``remote_pct`` is the share of the type's half-days held remotely, as ``modality_shares``
    derives it; types without activity are left out.
    """
    half_days = shares.pivot_table(
        index="activity_type_code", columns="modality_code", values="half_days", aggfunc="sum"
    )
    half_days = half_days.reindex(columns=list(modalities["modality_code"])).fillna(0).astype(int)
    remote = shares[shares["modality_code"] == REMOTE].set_index("activity_type_code")["share_pct"]
    ordered = types.sort_values("sort_order")
    ordered = ordered[ordered["activity_type_code"].isin(half_days.index)]
    out = half_days.loc[list(ordered["activity_type_code"])].reset_index()
    out.insert(1, "label", list(ordered["label"]))
    out["remote_pct"] = out["activity_type_code"].map(remote).astype(object).fillna(0.0)
    return out


def write_report(
    engine: Engine, year: int, out: Path, final: bool = False, record: bool = True
) -> tuple[Path, Path]:
    """Write the bilan of ``year`` to ``out`` (HTML) and its tables next to it (``.xlsx``).

    Returns both paths. The workbook has the same stem as the page. While exploitable returns
    await a steward's approval, both say « provisoire » (title, every page, every sheet), and
    ``final`` raises ``NotFinal`` naming those centres instead of writing anything. When the
    two files already hold what this bilan gives (``fingerprint.refresh``: the same figures,
    the same code), nothing is drawn nor written. ``record=False`` draws and writes them
    anyway and leaves no record beside them (``crpv report``, which may write anywhere).
    """
    bilan = build_bilan(engine, year)
    if final and bilan.provisional:
        raise NotFinal(
            f"the bilan of {year} is not final: {len(bilan.awaiting_approval)} exploitable"
            f" returns await a steward's approval ({', '.join(bilan.awaiting_approval)});"
            f" see `crpv review --year {year}`"
        )
    out = Path(out)
    workbook = out.with_suffix(".xlsx")

    def write() -> None:
        from crpv_pipeline.atomic import write_text
        from crpv_pipeline.outputs.report.html import render_html
        from crpv_pipeline.outputs.report.xlsx import write_workbook

        write_text(out, render_html(bilan, TITLE, workbook.name))
        title = bilan.title(TITLE)
        write_workbook(bilan.tables, workbook, title, bilan.provisional, bilan.as_of)

    if record:
        refresh([out, workbook], inputs_fingerprint("bilan_report", bilan, workbook.name), write)
    else:
        write()
    return out, workbook
