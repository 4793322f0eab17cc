"""The tables of the bilan report: what each holds, in French, laid out from warehouse rows.

Each builder takes rows already read by ``report.build_bilan`` (DataFrames of the warehouse
tables and dimensions) and returns a ``ReportTable``: French headers, the kind of each column
and the raw values, so that the HTML page (``html``) and the workbook (``xlsx``)
show the same figures (the annex tables are in ``annex``). What stays out: reading the
warehouse, formatting and rendering. Totals and shares are the warehouse's; only per-centre sums
of ``activity_counts`` are added up here.
A figure the centres did not give is ``coverage.NOT_GIVEN`` (« non renseigné »), never 0, and
the totals built from it say what they cover.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from crpv_pipeline.outputs.report.coverage import (
    NOT_GIVEN,
    NOT_GIVEN_TEXT,
    activities_coverage,
    centres_coverage,
    compared_centres,
    is_missing,
)
from crpv_pipeline.reference.statuses import SEVERITY_LABELS, STATUS_LABELS

__all__ = [
    "REMOTE",
    "SEVERITY_LABELS",
    "STATUS_LABELS",
    "USED_STATUSES",
    "Column",
    "ReportTable",
    "centres_table",
    "headline_table",
    "plain",
    "records",
    "themes_table",
    "types_table",
    "years_table",
]

REMOTE = "DISTANCIEL"
USED_STATUSES = ("loaded", "loaded_with_errors")
"""Statuses of a submission whose figures the bilan uses; any other status is set aside."""


@dataclass(frozen=True)
class Column:
    """A column of a report table: its French header and how its values read.

    ``kind`` is one of ``text``, ``id`` (years, numbers that are names), ``code`` (rule
    identifiers), ``hash`` (SHA-256 digests), ``int``, ``pct`` (0 to 100),
    ``signed_int``, ``signed_pct`` (changes), ``datetime`` (naive, in Paris time), or
    ``by_row`` when each row says (``ReportTable.row_kinds``).
    """

    header: str
    kind: str = "text"


@dataclass(frozen=True)
class ReportTable:
    """One table of the report: a sheet of the workbook and a table of the page."""

    name: str
    sheet: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...]
    total: tuple[Any, ...] | None = None
    row_kinds: tuple[str, ...] = ()

    @property
    def headers(self) -> tuple[str, ...]:
        return tuple(c.header for c in self.columns)

    def kind(self, row: int, column: int) -> str:
        """How the value at (row, column) reads; the total row is row ``len(rows)``."""
        kind = self.columns[column].kind
        return self.row_kinds[row] if kind == "by_row" else kind


def headline_table(year, summary, previous, trend) -> ReportTable:
    """Headline figures, the previous year's, the change on the centres of both years."""

    def row(label, field, kind="int", change=None, note=None):
        before = _given(previous.get(field)) if previous else None
        delta = trend.get(f"{change}_change") if trend and change else None
        delta_pct = trend.get(f"{change}_change_pct") if trend and change else None
        return (label, _given(summary[field]), before, delta, delta_pct, note), kind

    compared = _change_note(trend, previous, "centres_compared")
    compared = compared[0].upper() + compared[1:] if compared else None
    participants = _participants_note(summary, trend, previous)
    rows = [
        row("Demi-journées", "half_days", change="half_days", note=compared),
        row("Activités", "n_activities", change="n_activities", note=compared),
        row("Participants", "participants", change="participants", note=participants),
        row("Centres ayant transmis un bilan exploitable", "centres_reporting"),
        row("Centres attendus", "centres_expected"),
        row("Part des demi-journées à distance", "share_distanciel_pct", kind="pct"),
    ]
    return ReportTable(
        "chiffres_cles",
        "Chiffres clés",
        "Chiffres clés",
        (
            Column("Indicateur"),
            Column(str(year), "by_row"),
            Column(str(year - 1), "by_row"),
            Column(f"Évolution {year - 1}-{year}", "signed_int"),
            Column("Évolution (%)", "signed_pct"),
            Column("Précisions"),
        ),
        tuple(r for r, _ in rows),
        row_kinds=tuple(kind for _, kind in rows),
    )


def _given(value: Any) -> Any:
    """A figure as read, ``NOT_GIVEN`` when the warehouse holds NULL (nobody gave it)."""
    return NOT_GIVEN if is_missing(value) else plain(value)


def _change_note(trend, previous, field: str, participants: bool = False) -> str | None:
    """``évolution calculée sur les 15 centres…``; None when the previous year is not there."""
    if not trend or previous is None:
        return None
    compared = compared_centres(trend.get(field), participants=participants)
    if compared is None or not compared.startswith("sur"):
        return compared
    return f"évolution calculée {compared}"


def _participants_note(summary, trend, previous) -> str:
    """What the participants cover this year, and what their change compares."""
    known = summary.get("centres_with_participants")
    if is_missing(summary.get("participants")):
        note = "Aucun centre n'a renseigné le nombre de participants"
    elif is_missing(known):
        note = "Participants renseignés"
    else:
        activities = activities_coverage(
            summary.get("n_activities_with_participants"), summary["n_activities"]
        )
        note = (
            f"Renseignés par {centres_coverage(known, summary['centres_reporting'])} ({activities})"
        )
    change = _change_note(trend, previous, "participants_centres_compared", participants=True)
    return f"{note} ; {change}" if change else note


def years_table(years: pd.DataFrame) -> ReportTable:
    return ReportTable(
        "evolution",
        "Évolution",
        "Évolution annuelle",
        (
            Column("Année", "id"),
            Column("Demi-journées", "int"),
            Column("Activités", "int"),
            Column("Participants", "int"),
            Column("Centres ayant renseigné les participants", "int"),
            Column("Évolution des demi-journées", "signed_int"),
            Column("Évolution des demi-journées (%)", "signed_pct"),
            Column("Centres comparés (présents les deux années)", "int"),
        ),
        tuple(
            (
                plain(r["year"]),
                plain(r["half_days"]),
                plain(r["n_activities"]),
                _given(r["participants"]),
                plain(r.get("centres_with_participants")),
                plain(r["half_days_change"]),
                plain(r["half_days_change_pct"]),
                plain(r.get("centres_compared")),
            )
            for r in years.to_dict("records")
        ),
    )


def types_table(by_type: pd.DataFrame, modalities: pd.DataFrame) -> ReportTable:
    codes = list(modalities["modality_code"])
    rows = tuple(
        (r["label"], *(int(r[c]) for c in codes), int(sum(r[c] for c in codes)), r["remote_pct"])
        for r in by_type.to_dict("records")
    )
    return ReportTable(
        "types_modalites",
        "Types et modalités",
        "Demi-journées par type d'activité et modalité",
        (
            Column("Type d'activité"),
            *(Column(label, "int") for label in modalities["label"]),
            Column("Total", "int"),
            Column("Part à distance", "pct"),
        ),
        rows,
    )


def themes_table(themes: pd.DataFrame) -> ReportTable:
    return ReportTable(
        "thematiques",
        "Thématiques",
        "Thématiques principales",
        (
            Column("Thématique"),
            Column("Pilier"),
            Column("Activités", "int"),
            Column("Demi-journées", "int"),
            Column("Part des demi-journées", "pct"),
        ),
        records(themes, ["label", "pillar", "n_activities", "half_days", "share_half_days_pct"]),
    )


def centres_table(current: pd.DataFrame, counts: pd.DataFrame, summary) -> ReportTable:
    """Per centre: half-days, activities, participants (« non renseigné » when left empty)."""
    sums = _centre_sums(counts)
    remote = counts[counts["modality_code"] == REMOTE].groupby("centre_code")["half_days"].sum()
    rows = []
    for r in current.to_dict("records"):
        code = r["centre_code"]
        if code in sums.index:
            s = sums.loc[code]
            half_days, n_activities = int(s["half_days"]), int(s["n_activities"])
            known = int(s["with_participants"])
            participants = int(s["participants"]) if known else NOT_GIVEN
            coverage = activities_coverage(known, n_activities) if known else NOT_GIVEN_TEXT
            share = 100.0 * int(remote.get(code, 0)) / half_days if half_days else None
            rows.append(
                (r["name"], r["region"], half_days, n_activities, participants, coverage, share)
            )
        else:
            rows.append((r["name"], r["region"], None, None, None, None, None))
    reporting, known = summary["centres_reporting"], summary.get("centres_with_participants")
    total = ("Total national", "", summary["half_days"], summary["n_activities"])
    total += (_given(summary["participants"]),)
    total += (None if is_missing(known) else centres_coverage(known, reporting),)
    total += (summary["share_distanciel_pct"],)
    return ReportTable(
        "centres",
        "Centres",
        "Activité par centre",
        (
            Column("Centre"),
            Column("Région"),
            Column("Demi-journées", "int"),
            Column("Activités", "int"),
            Column("Participants", "int"),
            Column("Participants renseignés pour"),
            Column("Part à distance", "pct"),
        ),
        tuple(rows),
        total,
    )


def _centre_sums(counts: pd.DataFrame) -> pd.DataFrame:
    """Per centre: half-days, activities, participants given and the activities giving them.

    A row derived by an earlier version has no ``n_activities_with_participants``: its
    participants count as given.
    """
    frame = pd.DataFrame(
        {
            "centre_code": counts["centre_code"],
            "half_days": pd.to_numeric(counts["half_days"]),
            "n_activities": pd.to_numeric(counts["n_activities"]),
            "participants": pd.to_numeric(counts["participants"]).fillna(0),
            "with_participants": pd.to_numeric(
                counts.get("n_activities_with_participants", counts["n_activities"])
            ).fillna(pd.to_numeric(counts["n_activities"])),
        }
    )
    return frame.groupby("centre_code").sum()


def records(frame: pd.DataFrame, fields: Sequence[str]) -> tuple[tuple[Any, ...], ...]:
    """The ``fields`` of every row of ``frame``, as plain values (``plain``)."""
    return tuple(tuple(plain(r[f]) for f in fields) for r in frame.to_dict("records"))


def plain(value: Any) -> Any:
    """None for a missing value (NaN, NaT, None), the value itself otherwise."""
    if value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value))):
        return None
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        return value.item()
    return value
