"""The stewards' overview of a year: completeness of every expected centre and every finding.

``write_steward_overview`` writes ``suivi_bilans_<year>.xlsx`` from rows of the warehouse tables
``completeness`` and ``validation_failure`` that callers read and pass as DataFrames: one sheet
with the status of each expected centre (centres to chase first), one with every finding by
centre, file and position. Labels, colours and cell conversions are those of the correction
workbooks (``corrections``). What stays out: SQL, Dagster, judging values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from crpv_pipeline.atomic import atomic_output
from crpv_pipeline.model import FINDING_FIELDS, Finding
from crpv_pipeline.outputs.overview_decisions import decisions_sheet
from crpv_pipeline.outputs.workbook_cells import (
    DATE_FORMAT,
    DATETIME_FORMAT,
    ERROR_COLOUR,
    FORMULA_START,
    HEADER_COLOUR,
    LOADED_COLOUR,
    TABLE_COLUMNS,
    WARNING_COLOUR,
    cell_scalar,
    clean_text,
    finding_position,
    finding_row,
    is_blank,
    timestamp,
    wrapped_lines,
)
from crpv_pipeline.reference.deadlines import RECEIVED_HEADER, paris_time
from crpv_pipeline.reference.parsing import french_count
from crpv_pipeline.reference.statuses import STATUS_LABELS

COMPLETENESS_SHEET = "Complétude"
FINDINGS_SHEET = "Constats"
ERROR_FILL = PatternFill("solid", fgColor=ERROR_COLOUR)
WARNING_FILL = PatternFill("solid", fgColor=WARNING_COLOUR)
LOADED_FILL = PatternFill("solid", fgColor=LOADED_COLOUR)
HEADER_FILL = PatternFill("solid", fgColor=HEADER_COLOUR)
STATUS_FILLS = {
    "missing": ERROR_FILL,
    "rejected": ERROR_FILL,
    "empty": ERROR_FILL,
    "loaded_with_errors": WARNING_FILL,
    "loaded": LOADED_FILL,
}
_OVERVIEW_COLUMNS = {"Code": 16, "Centre": 50, "Statut": 20, RECEIVED_HEADER: 24}
_OVERVIEW_COLUMNS |= {"Lignes chargées": 16, "Erreurs": 10, "Avertissements": 16}
_OVERVIEW_COLUMNS |= {"Approbation": 14}
APPROVAL_LABELS = {"received": "À examiner", "reviewed": "À approuver", "approved": "Approuvé"}
_FINDINGS_COLUMNS = {"Centre": 16, "Fichier": 28} | {**TABLE_COLUMNS, "Message": 70}
_COMPLETENESS_FIELDS = ["centre_code", "status", "submission_id", "received_at", "rows_loaded"]
_COMPLETENESS_FIELDS += ["n_errors", "held_submission_id", "approval"]


def write_steward_overview(
    year: int,
    completeness: pd.DataFrame,
    findings: pd.DataFrame,
    out: Path,
    centre_names: Mapping[str, str],
    pending: Sequence | None = None,
) -> Path:
    """Write the stewards' workbook of ``year`` to ``out`` and return its path.

    ``out`` is the ``.xlsx`` file to write, or else a folder that receives
    ``suivi_bilans_<year>.xlsx``.

    ``completeness`` and ``findings`` hold rows of the warehouse tables ``completeness`` and
    ``validation_failure`` (other years are left out). ``Complétude``: one row per expected
    centre, centres to chase first; warnings are counted on each centre's current submission.
    ``Constats``: every finding given, by centre, file and position. With ``pending`` (the
    items of ``warehouse.awaiting.pending``), a « Décisions » sheet comes second, for stewards
    to fill (``overview_decisions``).
    """
    if out.suffix.lower() != ".xlsx":
        out = out / f"suivi_bilans_{year}.xlsx"
    if "year" in completeness:
        completeness = completeness.loc[completeness["year"] == year]
    if "year" in findings:
        findings = findings.loc[findings["year"] == year]
    completeness = completeness.reindex(columns=_COMPLETENESS_FIELDS)
    findings = findings.reindex(columns=[*FINDING_FIELDS, "submission_id", "centre_code"])
    workbook = Workbook()
    _completeness_sheet(workbook.active, year, completeness, findings, centre_names)
    _findings_sheet(workbook.create_sheet(FINDINGS_SHEET), year, findings)
    if pending is not None:
        decisions_sheet(workbook, year, pending, index=1)
    with atomic_output(out) as temp:
        workbook.save(temp)
    return out


def _completeness_sheet(ws, year, completeness, findings, centre_names) -> None:
    ws.title = COMPLETENESS_SHEET
    warning_rows = findings.loc[findings["severity"] == "warning", "submission_id"]
    warnings = {int(s): n for s, n in warning_rows.value_counts().items() if not is_blank(s)}
    order = {status: rank for rank, status in enumerate(STATUS_LABELS)}
    records = sorted(
        completeness.to_dict("records"),
        key=lambda r: (order.get(r["status"], len(order)), str(r["centre_code"])),
    )
    rows = [
        (
            r["centre_code"],
            centre_names.get(r["centre_code"], ""),
            _status_text(r, findings),
            _received(r["received_at"]),
            # no file, nothing counted: empty cells, never 0
            *(
                (None, None, None)
                if is_blank(r["submission_id"])
                else (
                    r["rows_loaded"],
                    r["n_errors"],
                    warnings.get(int(r["submission_id"]), 0),
                )
            ),
            None if is_blank(r["approval"]) else APPROVAL_LABELS.get(r["approval"]),
        )
        for r in records
    ]
    per_status = pd.Series([r["status"] for r in records], dtype=object).value_counts()
    parts = [
        french_count(int(per_status[s]), STATUS_LABELS[s].lower(), _plural_status(s))
        for s in STATUS_LABELS
        if s in per_status
    ]
    _put(ws, 1, 1, f"Bilans {year} : complétude des retours").font = Font(bold=True, size=14)
    _put(
        ws,
        2,
        1,
        " · ".join([french_count(len(records), "centre attendu", "centres attendus")] + parts),
    )
    _table(ws, 4, _OVERVIEW_COLUMNS, rows, wrap=(2, 3))
    for offset, record in enumerate(records, start=5):
        fill = STATUS_FILLS.get(record["status"])
        if fill is not None:
            ws.cell(offset, 3).fill = fill


def _received(value: Any) -> dt.datetime | str | None:
    """A reception time in Paris time, like the deadline (the warehouse keeps UTC)."""
    stamp = timestamp(value)
    return paris_time(stamp) if isinstance(stamp, dt.datetime) else stamp


def _status_text(record: Mapping[str, Any], findings: pd.DataFrame) -> str:
    """The centre's status; with a held return, which submission is in force and which is held.

    A held return always has a finding (``holding``): its file name is taken from there.
    """
    label = STATUS_LABELS.get(record["status"], record["status"])
    held = record["held_submission_id"]
    if is_blank(held) or is_blank(record["submission_id"]):
        return label
    names = findings.loc[findings["submission_id"] == held, "file_name"]
    name = f" « {names.iloc[0]} »" if len(names) else ""
    return (
        f"{label} : soumission {int(record['submission_id'])} en vigueur ; bilan plus récent"
        f"{name} (soumission {int(held)}) en attente de la décision d'un référent"
    )


def _plural_status(status: str) -> str:
    words = STATUS_LABELS[status].lower().split(" ", 1)
    return " ".join([words[0] + "s", *words[1:]])


def _findings_sheet(ws: Worksheet, year: int, findings: pd.DataFrame) -> None:
    pairs = [
        (cell_scalar(r["centre_code"]), Finding(**{k: cell_scalar(r[k]) for k in FINDING_FIELDS}))
        for r in findings.to_dict("records")
    ]
    sheets = list(dict.fromkeys(f.sheet for _, f in pairs if f.sheet))
    ordered = sorted(
        pairs, key=lambda p: (str(p[0] or ""), p[1].file_name, finding_position(p[1], sheets))
    )
    records = [f for _, f in ordered]
    rows = [(centre, f.file_name, *finding_row(f)) for centre, f in ordered]
    n_errors = sum(f.severity == "error" for f in records)
    _put(ws, 1, 1, f"Bilans {year} : constats de validation").font = Font(bold=True, size=14)
    counts = [
        french_count(n_errors, "erreur"),
        french_count(len(records) - n_errors, "avertissement"),
    ]
    _put(ws, 2, 1, f"{french_count(len(records), 'constat')} : {', '.join(counts)}")
    _table(ws, 4, _FINDINGS_COLUMNS, rows, wrap=(2, 4, 5, 6, 8))
    for offset, (_, finding) in enumerate(ordered, start=5):
        ws.cell(offset, 7).fill = _fill(finding.severity)


def _table(
    ws: Worksheet,
    header_row: int,
    columns: Mapping[str, int],
    rows: Sequence[Sequence[Any]],
    wrap: Sequence[int] = (),
) -> None:
    """A table at ``header_row``: bold frozen header, autofilter, widths, wrapped columns."""
    widths = list(columns.values())
    for column, (label, width) in enumerate(columns.items(), start=1):
        cell = _put(ws, header_row, column, label)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(column)].width = width
    for row_number, values in enumerate(rows, start=header_row + 1):
        lines = 1
        for column, value in enumerate(values, start=1):
            cell = _put(ws, row_number, column, value)
            cell.alignment = Alignment(vertical="top", wrap_text=column in wrap)
            if column in wrap:
                lines = max(lines, wrapped_lines(value, widths[column - 1]))
        ws.row_dimensions[row_number].height = 15 * lines
    last = get_column_letter(len(columns))
    ws.auto_filter.ref = f"A{header_row}:{last}{header_row + max(len(rows), 1)}"
    ws.freeze_panes = f"A{header_row + 1}"
    _landscape(ws)


def _landscape(ws: Worksheet) -> None:
    """Print setup: landscape, one page wide."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def _put(ws: Worksheet, row: int, column: int, value: Any) -> Cell:
    """Write ``value`` at (row, column); strings always as text, never as a formula."""
    cell = ws.cell(row=row, column=column)
    value = cell_scalar(value)
    if isinstance(value, str):
        value = clean_text(value)
        cell.value = value
        cell.data_type = "s"  # openpyxl reads "=…" as a formula and "#N/A" as an error
        if value.lstrip(" \n").startswith(FORMULA_START):
            cell.quotePrefix = True  # stays text if the reader edits the cell
        return cell
    cell.value = value
    if isinstance(value, dt.datetime):
        cell.number_format = DATE_FORMAT if value.time() == dt.time(0) else DATETIME_FORMAT
    elif isinstance(value, dt.date):
        cell.number_format = DATE_FORMAT
    return cell


def _fill(severity: str) -> PatternFill:
    return ERROR_FILL if severity == "error" else WARNING_FILL
