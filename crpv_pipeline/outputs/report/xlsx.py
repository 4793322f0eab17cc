"""The bilan's tables as one ``.xlsx`` workbook, for analysts who rework the figures.

One sheet per table of ``report.Bilan``, its French header on row 1 (frozen, with a filter),
values kept as numbers: counts as integers, percentages as fractions shown ``0.0 %``, changes
with their sign, dates as dates (Paris time). A figure nobody gave stays an empty cell, never 0 (the
table's coverage column says « non renseigné »). Every string is written as text, never as a
formula. Written with XlsxWriter, whose files carry no time of their own: the document's date
is the one given (the warehouse's last change), so that the same tables give the same bytes.
What stays out: reading the warehouse, choosing what the tables hold, the HTML page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from crpv_pipeline.atomic import atomic_output
from crpv_pipeline.outputs.report.coverage import NOT_GIVEN
from crpv_pipeline.outputs.report.tables import ReportTable
from crpv_pipeline.outputs.workbook_cells import (
    FORMULA_START,
    HEADER_COLOUR,
    Formats,
    clean_text,
    new_workbook,
)

__all__ = ["NUMBER_FORMATS", "UNDATED", "write_workbook"]

NUMBER_FORMATS = {
    "int": "#,##0",
    "pct": "0.0%",
    "signed_int": "+#,##0;-#,##0;0",
    "signed_pct": "+0.0%;-0.0%;0.0%",
    "datetime": "DD/MM/YYYY HH:MM",
    "id": "0",
}
"""Excel number formats by column kind (shown with the reader's own separators)."""
UNDATED = dt.datetime(1980, 1, 1)
"""The document date of a workbook of a warehouse without any file or decision: the date
XlsxWriter gives the parts of every workbook."""
PROVISIONAL_HEADER = "Bilan provisoire : en attente d'approbation"
_PERCENT_KINDS = {"pct", "signed_pct"}
_MAX_WIDTH = 60


def write_workbook(
    tables: Sequence[ReportTable],
    out: Path,
    title: str,
    provisional: bool = False,
    as_of: dt.datetime | None = None,
) -> Path:
    """Write ``tables`` to ``out``, one sheet each (named after ``ReportTable.sheet``).

    A ``provisional`` bilan says « Bilan provisoire » in the header of every printed page.
    ``as_of`` (naive UTC) is the document's date, ``UNDATED`` when None.
    """
    with atomic_output(out) as temp:
        workbook = new_workbook(
            temp, as_of or UNDATED, properties={"title": title, "author": "Pipeline CRPV"}
        )
        formats = _Formats(workbook)
        for table in tables:
            ws = workbook.add_worksheet(table.sheet[:31])
            _sheet(ws, table, formats)
            if provisional:
                ws.set_header(f"&C{PROVISIONAL_HEADER}")
        workbook.close()
    return out


class _Formats(Formats):
    """The workbook's formats: its header, and a cell's by number format, weight and quoting."""

    def __init__(self, workbook: xlsxwriter.Workbook):
        super().__init__(workbook)
        self.header = self.get(
            bold=True, bg_color=f"#{HEADER_COLOUR}", text_wrap=True, valign="vcenter"
        )

    def of(self, number_format: str | None, bold: bool, quoted: bool = False):
        properties: dict[str, Any] = {"num_format": number_format} if number_format else {}
        properties |= {"bold": True} if bold else {}
        properties |= {"quote_prefix": True} if quoted else {}
        return self.get(**properties)


def _sheet(ws: Worksheet, table: ReportTable, formats: _Formats) -> None:
    widths = [len(c.header) for c in table.columns]
    for column, spec in enumerate(table.columns):
        ws.write_string(0, column, clean_text(spec.header), formats.header)
    rows = list(table.rows) + ([table.total] if table.total is not None else [])
    for index, values in enumerate(rows):
        bold = index == len(table.rows)  # the total row
        for column, value in enumerate(values):
            kind = table.kind(index, column)
            _put(ws, index + 1, column, _excel_value(value, kind), kind, bold, formats)
            shown = len(str(value)) if value is not None and value is not NOT_GIVEN else 0
            widths[column] = max(widths[column], shown)
    for column, width in enumerate(widths):
        ws.set_column(column, column, min(width + 2, _MAX_WIDTH))
    ws.autofilter(0, 0, max(len(table.rows), 1), len(table.columns) - 1)
    ws.freeze_panes(1, 0)


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


def _put(
    ws: Worksheet, row: int, column: int, value: Any, kind: str, bold: bool, formats: _Formats
) -> None:
    """Write ``value``; a string always as text (``=…`` stays text), cleaned for ``.xlsx``."""
    if value is None or value == "":  # an empty cell (formatted in the total row)
        if bold:
            ws.write_blank(row, column, None, formats.of(None, bold))
        return
    if not isinstance(value, str | int | float | dt.date):
        value = str(value)
    if isinstance(value, bool):
        ws.write_boolean(row, column, value, formats.of(None, bold))
    elif isinstance(value, str):
        text = clean_text(value)
        ws.write_string(row, column, text, formats.of(None, bold, text.startswith(FORMULA_START)))
    elif isinstance(value, dt.date):
        ws.write_datetime(row, column, value, formats.of(NUMBER_FORMATS["datetime"], bold))
    else:
        ws.write_number(row, column, value, formats.of(NUMBER_FORMATS.get(kind), bold))
