"""What the workbooks for people share: colours, formats, the table of findings, cell values.

The correction workbooks (``corrections``) and the stewards' overview (``steward_overview``)
are written with XlsxWriter (``new_workbook``: dated by their data, so that the same content
gives the same bytes; each cell format created once, ``Formats``), list findings the same way
(the columns of ``TABLE_COLUMNS``, in reading order, the rule's French label) and write values
the same way (``write_value``): text an ``.xlsx`` can hold, never a formula, plain Python values
from pandas or calamine, timestamps in UTC. Stays out: the layout of each workbook.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import xlsxwriter
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils.cell import coordinate_to_tuple
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from crpv_pipeline.model import Finding
from crpv_pipeline.reference.refdata import default_nomenclature
from crpv_pipeline.reference.statuses import SEVERITY_LABELS

ERROR_COLOUR, WARNING_COLOUR, LOADED_COLOUR, HEADER_COLOUR = "FFC7CE", "FFEB9C", "C6EFCE", "D9E1F2"
LINK_COLOUR = "0563C1"
DATE_FORMAT = "DD/MM/YYYY"
DATETIME_FORMAT = "DD/MM/YYYY HH:MM"
MAX_TEXT = 32_767  # longest text an Excel cell holds
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
TABLE_COLUMNS = {"Cellule": 18, "Colonne": 24, "Valeur saisie": 24, "Règle": 26, "Gravité": 15}
TABLE_COLUMNS["Message"] = 80
"""Columns of a table of findings: header → width."""
_AS_TEXT = {"strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False}


def new_workbook(
    path: Path,
    created: dt.datetime,
    properties: Mapping[str, Any] | None = None,
    **options: Any,
) -> xlsxwriter.Workbook:
    """An XlsxWriter workbook writing to ``path``, dated ``created`` (naive UTC).

    XlsxWriter dates the members of the archive 1 January 1980 and gives the document the date
    it is given as its creation and modification dates: callers pass a date taken from the data
    (when the return was received, when the year's warehouse last changed), never the time of
    writing, so that writing the same content again gives the same bytes. Strings stay text.
    ``properties`` are the document's others (title, author…).
    """
    workbook = xlsxwriter.Workbook(str(path), {**_AS_TEXT, **options})
    workbook.set_properties({**(properties or {}), "created": created.replace(microsecond=0)})
    return workbook


class Formats:
    """The cell formats of one workbook, each created once and shared by every cell using it."""

    def __init__(self, workbook: xlsxwriter.Workbook):
        self._workbook = workbook
        self._cache: dict[tuple, Format | None] = {}
        self._cells: dict[tuple, CellFormats] = {}

    def get(self, **properties: Any) -> Format | None:
        """The format with these XlsxWriter ``properties`` (None for none)."""
        key = tuple(sorted(properties.items()))
        if key not in self._cache:
            self._cache[key] = self._workbook.add_format(properties) if properties else None
        return self._cache[key]

    def cell(self, **style: Any) -> CellFormats:
        """The formats ``write_value`` needs for cells of ``style``, whatever their value."""
        key = tuple(sorted(style.items()))
        if key not in self._cells:
            self._cells[key] = CellFormats(self, style)
        return self._cells[key]


class CellFormats:
    """One style of cell and its variants (a text kept as text, a date, a date and time)."""

    def __init__(self, formats: Formats, style: dict[str, Any]):
        self._formats, self._style = formats, style
        self.plain = formats.get(**style)
        self._variants: dict[tuple[str, Any], Format | None] = {}

    def variant(self, name: str, value: Any) -> Format | None:
        """The format with ``name`` set to ``value`` on top of the style."""
        if (name, value) not in self._variants:
            self._variants[name, value] = self._formats.get(**{**self._style, name: value})
        return self._variants[name, value]


_NUMBER_FORMATS = {dt.date: DATE_FORMAT, dt.time: "HH:MM:SS", dt.timedelta: "[HH]:MM:SS"}


def write_value(ws: Worksheet, row: int, column: int, value: Any, cell: CellFormats) -> None:
    """Write ``value`` at (row, column), 0-based, formatted by ``cell``; a text never a formula.

    A blank is written only when the style shows something (a fill, a border…).
    """
    if type(value) is not str:  # text, the common case, needs no conversion
        value = cell_scalar(value)
    if value is None or value == "":
        if cell.plain is not None:
            ws.write_blank(row, column, None, cell.plain)
    elif isinstance(value, str):
        text = clean_text(value)
        quoted = text.lstrip(" \n").startswith(FORMULA_START)
        # quote prefix: the text stays text if the reader edits the cell
        ws.write_string(
            row, column, text, cell.variant("quote_prefix", True) if quoted else cell.plain
        )
    elif isinstance(value, bool):
        ws.write_boolean(row, column, value, cell.plain)
    elif isinstance(value, int | float):
        ws.write_number(row, column, value, cell.plain)
    elif isinstance(value, dt.datetime):
        shown = DATE_FORMAT if value.time() == dt.time(0) else DATETIME_FORMAT
        ws.write_datetime(row, column, value, cell.variant("num_format", shown))
    elif isinstance(value, dt.date | dt.time | dt.timedelta):
        shown = next(f for kind, f in _NUMBER_FORMATS.items() if isinstance(value, kind))
        ws.write_datetime(row, column, value, cell.variant("num_format", shown))
    else:  # cell_scalar gives nothing else
        ws.write_string(row, column, clean_text(str(value)), cell.plain)


def sorted_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Findings in reading order: those without a row first, then by sheet, row and column."""
    findings = list(findings)
    sheets = list(dict.fromkeys(f.sheet for f in findings if f.sheet))
    return sorted(findings, key=lambda f: finding_position(f, sheets))


def finding_position(finding: Finding, sheets: list[str]) -> tuple[int, int, int, int]:
    """Sort key of a finding; ``sheets`` gives the order of the sheets."""
    if finding.row_number is None:
        return (0, 0, 0, 0)
    sheet = sheets.index(finding.sheet) if finding.sheet in sheets else len(sheets)
    column = coordinate_to_tuple(finding.cell)[1] if finding.cell else 0
    return (1, sheet, finding.row_number, column)


def finding_row(f: Finding) -> tuple[Any, ...]:
    """Cellule, Colonne, Valeur saisie, Règle (its French label, never the id), Gravité, Message."""
    severity = SEVERITY_LABELS.get(f.severity, f.severity)
    rule = default_nomenclature().rule_label(f.rule)
    return (f.location, f.column_label, f.value, rule, severity, f.message)


def wrapped_lines(value: Any, width: float) -> int:
    """Lines a wrapped cell of ``width`` characters takes.

    Spreadsheets do not size rows on opening a file: a row's height is set from its tallest
    wrapped cell.
    """
    if value is None or value == "":
        return 1
    return max(1, math.ceil(len(str(value)) * 1.15 / width))


def landscape(ws: Worksheet) -> None:
    """Print setup: landscape, one page wide."""
    ws.set_landscape()
    ws.fit_to_pages(1, 0)


def clean_text(text: str) -> str:
    """Text an ``.xlsx`` can hold: control characters replaced, at most 32 767 characters."""
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)[:MAX_TEXT]


def is_blank(value: Any) -> bool:
    """None, NaN, NA or NaT."""
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


def cell_scalar(value: Any) -> Any:
    """A plain Python value from what pandas or calamine hand over (None for blanks)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if is_blank(value):
        return None
    if isinstance(value, pd.Timestamp):
        return timestamp(value)
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(value, bool | int | dt.date | dt.time | dt.timedelta):
        return value
    return str(value)


def timestamp(value: Any) -> dt.datetime | str | None:
    """A naive UTC datetime from a timestamp as the warehouse returns it (text or datetime)."""
    if is_blank(value):
        return None
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        return str(value)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.to_pydatetime().replace(microsecond=0)


def severity_colour(severity: str) -> str:
    """The fill colour of a finding's severity (red for errors, amber for warnings)."""
    return ERROR_COLOUR if severity == "error" else WARNING_COLOUR
