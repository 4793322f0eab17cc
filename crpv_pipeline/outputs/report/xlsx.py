"""The bilan's tables as one ``.xlsx`` workbook, for analysts who rework the figures.

One sheet per table of ``report.Bilan``, its French header on row 1 (frozen, with a filter),
values kept as numbers: counts as integers, percentages as fractions shown ``0.0 %``, changes
with their sign, dates as dates (Paris time). A figure nobody gave stays an empty cell, never 0 (the
table's coverage column says « non renseigné »). Every string is written as text, never as a
formula.
What stays out: reading the warehouse, choosing what the tables hold, the HTML page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from crpv_pipeline.atomic import atomic_output
from crpv_pipeline.outputs.report.coverage import NOT_GIVEN
from crpv_pipeline.outputs.report.tables import ReportTable

__all__ = ["NUMBER_FORMATS", "write_workbook"]

NUMBER_FORMATS = {
    "int": "#,##0",
    "pct": "0.0%",
    "signed_int": "+#,##0;-#,##0;0",
    "signed_pct": "+0.0%;-0.0%;0.0%",
    "datetime": "DD/MM/YYYY HH:MM",
    "id": "0",
}
"""Excel number formats by column kind (shown with the reader's own separators)."""
_PERCENT_KINDS = {"pct", "signed_pct"}
_HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_MAX_TEXT = 32_767
_MAX_WIDTH = 60


def write_workbook(
    tables: Sequence[ReportTable], out: Path, title: str, provisional: bool = False
) -> Path:
    """Write ``tables`` to ``out``, one sheet each (named after ``ReportTable.sheet``).

    A ``provisional`` bilan says « Bilan provisoire » in the header of every printed page.
    """
    workbook = Workbook()
    workbook.remove(workbook.active)
    workbook.properties.title = title
    workbook.properties.creator = "Pipeline CRPV"
    for table in tables:
        ws = workbook.create_sheet(table.sheet[:31])
        _sheet(ws, table)
        if provisional:
            ws.oddHeader.center.text = "Bilan provisoire : en attente d'approbation"
            ws.evenHeader.center.text = ws.oddHeader.center.text
    with atomic_output(out) as temp:
        workbook.save(temp)
    return out


def _sheet(ws: Worksheet, table: ReportTable) -> None:
    widths = [len(c.header) for c in table.columns]
    for column, spec in enumerate(table.columns, start=1):
        cell = _put(ws, 1, column, spec.header)
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    rows = list(table.rows) + ([table.total] if table.total is not None else [])
    for index, values in enumerate(rows):
        for column, value in enumerate(values):
            kind = table.kind(index, column)
            cell = _put(ws, index + 2, column + 1, _excel_value(value, kind))
            if kind in NUMBER_FORMATS and cell.value is not None:
                cell.number_format = NUMBER_FORMATS[kind]
            if index == len(table.rows):  # the total row
                cell.font = Font(bold=True)
            shown = len(str(value)) if value is not None and value is not NOT_GIVEN else 0
            widths[column] = max(widths[column], shown)
    for column, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(column)].width = min(width + 2, _MAX_WIDTH)
    last = get_column_letter(len(table.columns))
    ws.auto_filter.ref = f"A1:{last}{max(len(table.rows), 1) + 1}"
    ws.freeze_panes = "A2"


def _excel_value(value: Any, kind: str) -> Any:
    if value is None or value is NOT_GIVEN:  # unknown stays empty, never 0: a column says why
        return None
    if pd.api.types.is_scalar(value) and bool(pd.isna(value)):
        return None
    if kind in _PERCENT_KINDS:
        return float(value) / 100
    if kind in ("int", "signed_int"):
        return int(value)
    if kind == "datetime":
        stamp = pd.Timestamp(value)
        if stamp.tzinfo is not None:
            stamp = stamp.tz_convert("UTC").tz_localize(None)
        return stamp.to_pydatetime().replace(microsecond=0)
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        return value.item()
    return value


def _put(ws: Worksheet, row: int, column: int, value: Any):
    """Write ``value``; a string always as text (``=…`` stays text), cleaned for ``.xlsx``."""
    cell = ws.cell(row=row, column=column)
    if isinstance(value, str):
        text = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)[:_MAX_TEXT]
        cell.value = text
        cell.data_type = "s"
        if text.startswith(_FORMULA_START):
            cell.quotePrefix = True
    elif isinstance(value, dt.date | dt.datetime | int | float) or value is None:
        cell.value = value
    else:
        cell.value = str(value)
        cell.data_type = "s"
    return cell
