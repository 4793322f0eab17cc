"""The annex tables of the bilan: completeness, findings per centre and rule, and the files.

Like ``tables`` (whose ``Column`` and ``ReportTable`` they use), each builder takes rows
already read by ``report.build_bilan`` and returns a ``ReportTable`` in French. The files whose
figures are used and the files set aside (rejected, or any other status) are two tables: a
file set aside is never called « retenu », and says why in the words sent to its centre. Rules
read by their French label; reception times in Paris time, like the deadline. What stays
out: reading the warehouse, formatting and rendering.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from crpv_pipeline.outputs.report.tables import USED_STATUSES, Column, ReportTable, plain, records
from crpv_pipeline.reference.deadlines import RECEIVED_HEADER, paris_time
from crpv_pipeline.reference.statuses import SEVERITY_LABELS, STATUS_LABELS

__all__ = [
    "completeness_table",
    "files_table",
    "quality_table",
    "rules_table",
    "set_aside_table",
]


def completeness_table(current: pd.DataFrame) -> ReportTable:
    """Status and reception of every expected centre; on time or not when there is a deadline."""
    on_time = "received_on_time" in current.columns
    rows = []
    for r in current.to_dict("records"):
        row = (r["name"], r["region"], STATUS_LABELS.get(r["status"], r["status"]))
        row += (paris_time(plain(r["received_at"])),)
        if on_time:
            row += (None if plain(r["received_on_time"]) is None else _yes_no(r),)
        rows.append(row)
    return ReportTable(
        "completude",
        "Complétude",
        "Complétude des retours",
        (
            Column("Centre"),
            Column("Région"),
            Column("Statut"),
            Column(RECEIVED_HEADER, "datetime"),
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
                *(None if r["status"] == "missing" else plain(r[f]) for f in fields),
            )
            for r in current.to_dict("records")
        ),
    )


def rules_table(failures: pd.DataFrame, labels: dict[str, str]) -> ReportTable:
    """Findings per rule, by its French label (``dim_rule``); the id in a last column."""
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
            Column("Règle"),
            Column("Gravité"),
            Column("Constats", "int"),
            Column("Centres concernés", "int"),
            Column("Code de la règle", "code"),
        ),
        tuple(
            (
                labels.get(r["rule"], r["rule"]),
                SEVERITY_LABELS.get(r["severity"], r["severity"]),
                r["n"],
                r["centres"],
                r["rule"],
            )
            for r in grouped.to_dict("records")
        ),
    )


def files_table(current: pd.DataFrame) -> ReportTable:
    """The file each centre's figures come from: only loaded ones, never a rejected file."""
    used = current[current["submission_id"].notna() & current["status"].isin(USED_STATUSES)]
    return ReportTable(
        "fichiers",
        "Fichiers retenus",
        "Fichiers dont viennent les chiffres",
        (
            Column("Centre"),
            Column("Fichier"),
            Column("SHA-256", "hash"),
            Column(RECEIVED_HEADER, "datetime"),
            Column("Soumission", "id"),
        ),
        tuple(
            (*row[:3], paris_time(row[3]), row[4])
            for row in records(
                used, ["name", "file_name", "file_sha256", "received_at", "submission_id"]
            )
        ),
    )


def set_aside_table(set_aside: pd.DataFrame) -> ReportTable:
    """Files received for the year whose figures are not used (rejected, held...), and why.

    ``set_aside`` holds submission rows with ``name`` (the centre's, None when unidentified)
    and ``reason`` (the messages of the file's errors). A status without a label shows as is.
    """
    return ReportTable(
        "fichiers_ecartes",
        "Fichiers écartés",
        "Fichiers reçus dont les chiffres ne sont pas utilisés",
        (
            Column("Centre"),
            Column("Fichier"),
            Column("Statut"),
            Column("Motif"),
            Column(RECEIVED_HEADER, "datetime"),
            Column("SHA-256", "hash"),
        ),
        tuple(
            (
                plain(r["name"]) or "Centre non identifié",
                plain(r["file_name"]),
                STATUS_LABELS.get(r["status"], r["status"]),
                plain(r["reason"]),
                paris_time(plain(r["received_at"])),
                plain(r["file_sha256"]),
            )
            for r in set_aside.to_dict("records")
        ),
    )
