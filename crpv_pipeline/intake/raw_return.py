"""A return's raw content: its Identification values and activity rows, each with its place.

``read_return`` turns an opened workbook (``reading``) into a ``RawReturn``: the Identification
values, and the rows of every activity sheet as written, keyed by Excel row number with their
labels as written; ``read_identification`` reads the Identification sheet alone. Deciding
whether a value is valid stays out (``validation``); so does opening the file (``reading``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from crpv_pipeline.intake.cell_problems import xlsx_cell_problems
from crpv_pipeline.intake.control_characters import (
    RemovedControls,
    has_unstorable,
)
from crpv_pipeline.intake.file_kinds import MAX_COLUMNS, MAX_ROWS
from crpv_pipeline.intake.normalisation import by_value
from crpv_pipeline.intake.reading import (
    IDENTIFICATION_SHEET,
    GuardedWorkbook,
    activity_sheets,
    clean_cell,
    find_sheet,
    is_blank,
    open_workbook,
    padded,
    sheet_rows,
)
from crpv_pipeline.model import IdentificationValue, ReturnFileError
from crpv_pipeline.reference.refdata import Nomenclature

if TYPE_CHECKING:
    from crpv_pipeline.intake.file_guards import Limits


_FILE_NAME_ID = re.compile(r"^(?P<centre>[A-Za-z][A-Za-z0-9]*)_(?P<year>\d{4})$")


@dataclass
class ActivitySheet:
    """One activity sheet of a return: where its header is and what its columns are.

    Its rows are those of ``RawReturn.rows`` whose key lies in ``(offset, end]``: a row's key is
    ``offset`` + its Excel row number, so that rows of two sheets never share a key (the first
    sheet's offset is 0: there, the key is the Excel row number).
    """

    name: str
    header_row: int
    """Excel row number (1-based) of the header row."""
    columns: dict[str, tuple[int, str]]
    """field → (0-based column index, label as written in the file)."""
    extra_columns: list[str]
    offset: int = 0
    end: int = 0
    """The largest key a row of this sheet may have (``offset`` + its last Excel row)."""


@dataclass
class RawReturn:
    """The raw content of a return: identification values and activity rows as written."""

    path: Path
    sheets: list[ActivitySheet]
    """The activity sheets read, in workbook order (one, unless several are named Activités…)."""
    rows: pd.DataFrame
    """One row per non-blank data row of every activity sheet, indexed by row key (see
    ``ActivitySheet``; with one sheet, the Excel row number), one object column per field found
    in a header; cells hold the value as read (str stripped, float, date…) or None."""
    identification: dict[str, IdentificationValue] = field(default_factory=dict)
    """field → (value, sheet name, 1-based row) for the Identification sheet's values."""
    identification_sheet: str | None = None
    removed_controls: list[RemovedControls] = field(default_factory=list)
    """Cells (Identification, then activity rows) whose control characters ``clean_cell``
    removed, in sheet order."""

    def sheet_of(self, key: int) -> ActivitySheet:
        """The activity sheet that holds the row of ``key``."""
        for sheet in self.sheets:
            if key <= sheet.end:
                return sheet
        return self.sheets[-1]

    def place(self, key: int) -> tuple[str, int]:
        """(sheet name, Excel row number) of the row of ``key``."""
        sheet = self.sheet_of(key)
        return sheet.name, key - sheet.offset

    def key(self, sheet_name: str | None, row: int) -> int:
        """The key of Excel row ``row`` of the activity sheet ``sheet_name``."""
        offset = next((s.offset for s in self.sheets if s.name == sheet_name), 0)
        return offset + row


def _identification(
    workbook: GuardedWorkbook, nomenclature: Nomenclature
) -> tuple[str | None, dict[str, IdentificationValue], list[RemovedControls]]:
    name = find_sheet(list(workbook.sheet_names), IDENTIFICATION_SHEET)
    if name is None:
        return None, {}, []
    values: dict[str, IdentificationValue] = {}
    removed = []
    for index, row in enumerate(sheet_rows(workbook, name)):
        if len(row) < 2 or not isinstance(row[0], str):
            continue
        entry = nomenclature.identification.match(row[0].rstrip(" :"))
        if entry is not None and entry.code not in values:
            values[entry.code] = IdentificationValue(clean_cell(row[1]), name, index + 1)
            if isinstance(row[1], str) and has_unstorable(row[1]):
                removed.append(RemovedControls(name, index + 1, 1, row[0].strip(), None, row[1]))
    return name, values, removed


def read_identification(
    path: Path, nomenclature: Nomenclature, limits: Limits | None = None
) -> dict[str, IdentificationValue]:
    """The Identification values of a return (as ``RawReturn.identification``), nothing else.

    Only that sheet is read (its used range checked first). Raises ``ReturnFileError`` when the
    file guards refuse the file (with ``limits``, see ``open_workbook``) or it cannot be opened.
    """
    workbook = open_workbook(path, limits)
    try:
        return _identification(workbook, nomenclature)[1]
    finally:
        workbook.close()


def read_return(
    path: Path,
    nomenclature: Nomenclature,
    max_rows: int = MAX_ROWS,
    max_columns: int = MAX_COLUMNS,
    look_for_cell_problems: bool = True,
    limits: Limits | None = None,
) -> RawReturn:
    """Read a return's Identification values and the rows of its activity sheets.

    Raises ``ReturnFileError`` for every file-level problem of reading (format, unreadable file,
    no header row, missing required column, activity sheets that cannot be read together, more
    than ``max_rows`` activity rows in all or ``max_columns`` header labels in a sheet).
    ``look_for_cell_problems`` False skips the search for error values and formulas in the sheet
    XML, for a file the guards found none in (``file_guards.FileScan``). The file guards run
    first, with ``limits`` (``open_workbook``).
    """
    workbook = open_workbook(path, limits)
    try:
        ident_sheet, identification, removed = _identification(workbook, nomenclature)
        try:
            found = activity_sheets(workbook, nomenclature)
        except ReturnFileError as err:
            err.identification = identification
            err.removed_controls = removed
            raise
    finally:
        workbook.close()
    sheets: list[ActivitySheet] = []
    frames: list[pd.DataFrame] = []
    kept_rows = 0
    for name, rows, header_index, columns in found:
        offset = sheets[-1].end if sheets else 0
        sheet, frame, removed_here = _sheet_frame(
            path, name, rows, header_index, columns, offset, max_columns, look_for_cell_problems
        )
        removed += removed_here
        kept_rows += len(frame)
        if kept_rows > max_rows:
            raise ReturnFileError("too_many_rows", sheet=name, limit=max_rows)
        sheets.append(sheet)
        frames.append(frame)
    frame = frames[0] if len(frames) == 1 else pd.concat(frames)
    return RawReturn(
        path=path,
        sheets=sheets,
        rows=frame,
        identification=identification,
        identification_sheet=ident_sheet,
        removed_controls=removed,
    )


def _sheet_frame(
    path: Path,
    name: str,
    rows: list[list[Any]],
    header_index: int,
    columns: dict[str, tuple[int, str]],
    offset: int,
    max_columns: int,
    look_for_cell_problems: bool,
) -> tuple[ActivitySheet, pd.DataFrame, list[RemovedControls]]:
    """One activity sheet, its non-blank rows keyed from ``offset``, and the cleaned cells.

    Rows are keyed as ``ActivitySheet`` says; the cells whose control characters were removed
    come row by row.
    """
    problems = xlsx_cell_problems(path, name) if look_for_cell_problems else {}
    for (row, column), problem in problems.items():
        if row > header_index:  # calamine shows these cells as empty, or not at all
            rows.extend([] for _ in range(row + 1 - len(rows)))
            rows[row].extend("" for _ in range(column + 1 - len(rows[row])))
            rows[row][column] = problem
    header = rows[header_index]
    labels = sum(1 for cell in header if cell is not None and str(cell).strip())
    if labels > max_columns:
        raise ReturnFileError(
            "too_many_columns", sheet=name, row=header_index + 1, value=labels, limit=max_columns
        )
    mapped = {index for index, _ in columns.values()}
    extra = [
        str(cell).strip()
        for index, cell in enumerate(header)
        if index not in mapped and isinstance(cell, str | int | float) and str(cell).strip()
    ]
    body = rows[header_index + 1 :]
    kept = [position for position, row in enumerate(body) if not is_blank(row)]
    width = max((index for index, _ in columns.values()), default=-1) + 1
    grid = list(zip(*(padded(body[position], width) for position in kept), strict=False))
    excel_rows = [header_index + 2 + position for position in kept]
    data = {}
    removed: list[RemovedControls] = []
    for code, (index, label) in columns.items():
        cells = grid[index] if grid else ()
        dirty: set[str] = set()
        data[code] = by_value(cells, _noting(dirty)) if grid else []
        if dirty:  # rare: only then are the column's cells looked at again
            removed += [
                RemovedControls(name, excel_row, index, label, code, cell)
                for excel_row, cell in zip(excel_rows, cells, strict=True)
                if type(cell) is str and cell in dirty
            ]
    keys = [offset + excel_row for excel_row in excel_rows]
    frame = pd.DataFrame(data, index=pd.Index(keys, name="source_row", dtype="int64"), dtype=object)
    sheet = ActivitySheet(
        name=name,
        header_row=header_index + 1,
        columns=columns,
        extra_columns=extra,
        offset=offset,
        end=offset + max(len(rows), header_index + 1),
    )
    return sheet, frame, sorted(removed, key=_sheet_order)


def _noting(dirty: set[str]) -> Callable[[Any], Any]:
    """``clean_cell``, adding to ``dirty`` each text it removes control characters from."""

    def clean(value: Any) -> Any:
        if type(value) is str and has_unstorable(value):
            dirty.add(value)
        return clean_cell(value)

    return clean


def _sheet_order(cell: RemovedControls) -> tuple[bool, int, int]:
    """Identification first, then row by row, column by column."""
    return cell.field is not None, cell.row, cell.column


def identify_from_file_name(path: Path) -> tuple[str, int] | None:
    """(centre code, year) from a file named ``<CODE>_<YEAR>.<ext>``, else None."""
    match = _FILE_NAME_ID.match(path.stem)
    if match is None:
        return None
    return match["centre"], int(match["year"])
