"""What the workbooks for people share: colours, formats, the table of findings, cell values.

The correction workbooks (``corrections``) and the stewards' overview (``steward_overview``)
list findings the same way (the columns of ``TABLE_COLUMNS``, in reading order, the rule's French
label) and write values the same way: text an ``.xlsx`` can hold, never a formula, plain Python
values from pandas or calamine, timestamps in UTC. Stays out: the layout of each workbook.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from typing import Any

import pandas as pd
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils.cell import coordinate_to_tuple
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
