"""The tables of the bilan report: what each holds, in French, laid out from warehouse rows.

Each builder takes rows already read by ``report.build_bilan`` (DataFrames of the warehouse
tables and dimensions) and returns a ``ReportTable``: French headers, the kind of each column
and the raw values, so that the HTML page (``report_html``) and the workbook (``report_xlsx``)
show the same figures. What stays out: reading the warehouse, formatting and rendering. Totals
and shares are the warehouse's; only per-centre sums of ``activity_counts`` are added up here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

__all__ = [
    "REMOTE",
    "SEVERITY_LABELS",
    "STATUS_LABELS",
    "Column",
    "ReportTable",
    "centres_table",
    "completeness_table",
    "files_table",
    "headline_table",
    "quality_table",
    "rules_table",
    "themes_table",
    "types_table",
    "years_table",
]

REMOTE = "DISTANCIEL"
STATUS_LABELS = {
    "missing": "Manquant",
    "rejected": "Rejeté",
    "loaded_with_errors": "Chargé avec erreurs",
    "loaded": "Chargé",
}
SEVERITY_LABELS = {"error": "Erreur", "warning": "Avertissement"}


@dataclass(frozen=True)
class Column:
    """A column of a report table: its French header and how its values read.

    ``kind`` is one of ``text``, ``id`` (years, numbers that are names), ``code`` (rule
    identifiers), ``hash`` (SHA-256 digests), ``int``, ``pct`` (0 to 100),
    ``signed_int``, ``signed_pct`` (changes), ``datetime`` (naive UTC), or ``by_row`` when each
    row says (``ReportTable.row_kinds``).
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
    def row(label, field, kind="int", change=None):
        before = previous.get(field) if previous else None
        delta = trend.get(f"{change}_change") if trend and change else None
        delta_pct = trend.get(f"{change}_change_pct") if trend and change else None
        return (label, summary[field], before, delta, delta_pct), kind

    rows = [
        row("Demi-journées", "half_days", change="half_days"),
        row("Activités", "n_activities", change="n_activities"),
        row("Participants", "participants", change="participants"),
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
        ),
        tuple(r for r, _ in rows),
        row_kinds=tuple(kind for _, kind in rows),
    )


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
            Column("Évolution des demi-journées", "signed_int"),
            Column("Évolution des demi-journées (%)", "signed_pct"),
        ),
        _records(
            years,
            ["year", "half_days", "n_activities", "participants", "half_days_change"]
            + ["half_days_change_pct"],
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
        _records(themes, ["label", "pillar", "n_activities", "half_days", "share_half_days_pct"]),
    )


def centres_table(current: pd.DataFrame, counts: pd.DataFrame, summary) -> ReportTable:
    sums = counts.groupby("centre_code")[["half_days", "n_activities", "participants"]].sum()
    remote = counts[counts["modality_code"] == REMOTE].groupby("centre_code")["half_days"].sum()
    rows = []
    for r in current.to_dict("records"):
        code = r["centre_code"]
        if code in sums.index:
            half_days, n_activities, participants = (int(v) for v in sums.loc[code])
            share = 100.0 * int(remote.get(code, 0)) / half_days if half_days else None
            rows.append((r["name"], r["region"], half_days, n_activities, participants, share))
        else:
            rows.append((r["name"], r["region"], None, None, None, None))
    total = ("Total national", "", summary["half_days"], summary["n_activities"])
    total += (summary["participants"], summary["share_distanciel_pct"])
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
            Column("Part à distance", "pct"),
        ),
        tuple(rows),
        total,
    )


def completeness_table(current: pd.DataFrame) -> ReportTable:
    """Status and reception of every expected centre; on time or not when there is a deadline."""
    on_time = "received_on_time" in current.columns
    rows = []
    for r in current.to_dict("records"):
        row = (r["name"], r["region"], STATUS_LABELS.get(r["status"], r["status"]))
        row += (r["received_at"],)
        if on_time:
            row += (None if _plain(r["received_on_time"]) is None else _yes_no(r),)
        rows.append(row)
    return ReportTable(
        "completude",
        "Complétude",
        "Complétude des retours",
        (
            Column("Centre"),
            Column("Région"),
            Column("Statut"),
            Column("Reçu le (UTC)", "datetime"),
            *((Column("Dans les délais"),) if on_time else ()),
        ),
        tuple(rows),
    )


def _yes_no(record: dict[str, Any]) -> str:
    return "Oui" if bool(record["received_on_time"]) else "Non"


def quality_table(current: pd.DataFrame) -> ReportTable:
    fields = ["rows_read", "rows_loaded", "rows_rejected", "n_errors", "n_warnings"]
    return ReportTable(
        "constats_centres",
        "Constats par centre",
        "Constats et lignes écartées par centre",
        (
            Column("Centre"),
            Column("Statut"),
            Column("Lignes lues", "int"),
            Column("Lignes chargées", "int"),
            Column("Lignes écartées", "int"),
            Column("Erreurs", "int"),
            Column("Avertissements", "int"),
        ),
        tuple(
            (
                r["name"],
                STATUS_LABELS.get(r["status"], r["status"]),
                *(None if r["status"] == "missing" else _plain(r[f]) for f in fields),
            )
            for r in current.to_dict("records")
        ),
    )


def rules_table(failures: pd.DataFrame) -> ReportTable:
    grouped = (
        failures.groupby(["rule", "severity"])
        .agg(n=("failure_id", "count"), centres=("centre_code", "nunique"))
        .reset_index()
        .sort_values(["n", "rule"], ascending=[False, True])
    )
    return ReportTable(
        "constats_regles",
        "Constats par règle",
        "Constats par règle",
        (
            Column("Règle", "code"),
            Column("Gravité"),
            Column("Constats", "int"),
            Column("Centres concernés", "int"),
        ),
        tuple(
            (r["rule"], SEVERITY_LABELS.get(r["severity"], r["severity"]), r["n"], r["centres"])
            for r in grouped.to_dict("records")
        ),
    )


def files_table(current: pd.DataFrame) -> ReportTable:
    sent = current[current["submission_id"].notna()]
    return ReportTable(
        "fichiers",
        "Fichiers retenus",
        "Fichiers retenus pour chaque centre",
        (
            Column("Centre"),
            Column("Fichier"),
            Column("SHA-256", "hash"),
            Column("Reçu le (UTC)", "datetime"),
            Column("Soumission", "id"),
        ),
        _records(sent, ["name", "file_name", "file_sha256", "received_at", "submission_id"]),
    )


def _records(frame: pd.DataFrame, fields: Sequence[str]) -> tuple[tuple[Any, ...], ...]:
    return tuple(tuple(_plain(r[f]) for f in fields) for r in frame.to_dict("records"))


def _plain(value: Any) -> Any:
    """None for a missing value (NaN, NaT, None), the value itself otherwise."""
    if value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value))):
        return None
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        return value.item()
    return value
