"""Reading a centre's return: find the sheets, the header row and the cells (contract §1).

This module turns a workbook into raw values that keep their place in the sheet (Excel row
number, column letter, label as written). It decides nothing about whether a value is valid:
that is ``validation``'s job. It reads with python-calamine, which handles ``.xlsx``, ``.xlsm``
(macros are never run), ``.xls`` and ``.ods``, and it never writes anything.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import python_calamine

from crpv_pipeline.cell_problems import error_text, xlsx_cell_problems
from crpv_pipeline.control_characters import RemovedControls, has_unstorable, remove_unstorable
from crpv_pipeline.normalisation import by_value
from crpv_pipeline.refdata import Nomenclature, normalize_label

SUPPORTED_SUFFIXES = (".xlsx", ".xlsm", ".ods", ".xls")
HEADER_SEARCH_ROWS = 30
MAX_ROWS = 50_000
MAX_COLUMNS = 200
ACTIVITY_SHEET = "Activités"
IDENTIFICATION_SHEET = "Identification"
_FILE_NAME_ID = re.compile(r"^(?P<centre>[A-Za-z][A-Za-z0-9]*)_(?P<year>\d{4})$")


class ReturnFileError(Exception):
    """A file-level problem (contract §4): the whole file is rejected.

    ``rule`` is a rule id of ``rules.csv``; ``context`` fills its French message; ``sheet``,
    ``row`` and ``column`` (0-based index) locate it when it has a place in the workbook.
    """

    def __init__(
        self,
        rule: str,
        *,
        sheet: str | None = None,
        row: int | None = None,
        column: int | None = None,
        column_label: str | None = None,
        value: object = None,
        **context: object,
    ):
        super().__init__(rule)
        self.rule = rule
        self.sheet = sheet
        self.row = row
        self.column = column
        self.column_label = column_label
        self.value = value
        self.context = context
        self.identification: dict[str, tuple[Any, str, int]] | None = None
        """Identification values read before the problem was found, if any."""
        self.removed_controls: list[RemovedControls] = []
        """Identification cells whose control characters were removed before the problem."""


@dataclass
class RawReturn:
    """The raw content of a return: identification values and activity rows as written."""

    path: Path
    sheet: str
    header_row: int
    """Excel row number (1-based) of the header row."""
    columns: dict[str, tuple[int, str]]
    """field → (0-based column index, label as written in the file)."""
    extra_columns: list[str]
    rows: pd.DataFrame
    """One row per non-blank data row, indexed by Excel row number, one object column per field
    found in the header; cells hold the value as read (str stripped, float, date…) or None."""
    identification: dict[str, tuple[Any, str, int]] = field(default_factory=dict)
    """field → (value, sheet name, 1-based row) for the Identification sheet's values."""
    identification_sheet: str | None = None
    removed_controls: list[RemovedControls] = field(default_factory=list)
    """Cells (Identification, then activity rows) whose control characters ``clean_cell``
    removed, in sheet order."""


def column_letter(index: int) -> str:
    """Spreadsheet column letters of a 0-based column index (0 → A, 27 → AB)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes; of a symbolic link, of where it points (never followed)."""
    if path.is_symlink():
        return hashlib.sha256(b"symlink\0" + os.fsencode(os.readlink(path))).hexdigest()
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def clean_cell(value: Any) -> Any:
    """A cell value as the pipeline sees it: blank text is None, text is stripped.

    Text loses the control characters no warehouse or workbook can hold (NUL…: the reader
    notes the cell, see ``RawReturn.removed_controls``). Text that spells a spreadsheet error
    (``#N/A``) becomes a ``CellProblem``.
    """
    if isinstance(value, str):
        if has_unstorable(value):
            value = remove_unstorable(value)
        value = value.strip()
        if not value:
            return None
        return (error_text(value) or value) if value[0] in "#E" else value
    if isinstance(value, float) and value != value:  # NaN
        return None
    return value


def _padded(row: list[Any], width: int) -> list[Any]:
    """``row`` with at least ``width`` cells (None past a short row)."""
    return row if len(row) >= width else [*row, *([None] * (width - len(row)))]


def _is_blank(row: Sequence[Any]) -> bool:
    for v in row:
        if v is not None and v != "" and not (isinstance(v, str) and not v.strip()):
            return False
    return True


def _open(path: Path) -> python_calamine.CalamineWorkbook:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise ReturnFileError("unsupported_format", value=path.suffix or path.name)
    try:
        return open_workbook(path)
    except Exception as err:  # calamine raises several exception types for broken files
        raise ReturnFileError("unreadable_file", detail=_short(err)) from err


def open_workbook(path: Path) -> python_calamine.CalamineWorkbook:
    """Open a workbook with calamine, whatever bytes its name holds."""
    try:
        name = str(path).encode("utf-8").decode("utf-8")
    except UnicodeEncodeError:  # a name with bytes that are not UTF-8: give calamine the bytes
        with path.open("rb") as fh:
            return python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(fh.read()))
    return python_calamine.CalamineWorkbook.from_path(name)


def _short(err: BaseException) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text[:200]


def _sheet_rows(workbook: python_calamine.CalamineWorkbook, name: str) -> list[list[Any]]:
    try:
        sheet = workbook.get_sheet_by_name(name)
        return sheet.to_python(skip_empty_area=False)
    except Exception as err:
        raise ReturnFileError("unreadable_file", sheet=name, detail=_short(err)) from err


def _find_sheet(names: Sequence[str], wanted: str) -> str | None:
    key = normalize_label(wanted)
    for name in names:
        if normalize_label(name) == key:
            return name
    return None


def _match_header(row: Sequence[Any], nomenclature: Nomenclature) -> dict[str, tuple[int, str]]:
    columns = nomenclature.column_list
    found: dict[str, tuple[int, str]] = {}
    for index, cell in enumerate(row):
        if isinstance(cell, str) and cell.strip():
            entry = columns.match(cell)
            if entry is not None and entry.code not in found:
                found[entry.code] = (index, cell.strip())
    return found


def _header(
    rows: list[list[Any]], nomenclature: Nomenclature
) -> tuple[int, dict[str, tuple[int, str]]] | None:
    """The first row (0-based) among the first 30 that holds every required column label."""
    required = {c.field for c in nomenclature.columns if c.required}
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        found = _match_header(row, nomenclature)
        if required <= found.keys():
            return index, found
    return None


def _missing_columns_error(sheet: str, rows: list[list[Any]], nomenclature: Nomenclature):
    """The most helpful file-level error when no complete header row exists in ``sheet``."""
    required = [c for c in nomenclature.columns if c.required]
    best_index, best = -1, {}
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        found = _match_header(row, nomenclature)
        if len(found.keys() & {c.field for c in required}) > len(best):
            best_index, best = index, found
    if len(best) >= 2:
        missing = [c for c in required if c.field not in best]
        return ReturnFileError(
            "missing_column",
            sheet=sheet,
            row=best_index + 1,
            column_label=missing[0].label,
            value=", ".join(c.label for c in missing),
        )
    return ReturnFileError(
        "no_header_row",
        sheet=sheet,
        value=", ".join(f"« {c.label} »" for c in required),
    )


def _activity_sheet(
    workbook: python_calamine.CalamineWorkbook, nomenclature: Nomenclature
) -> tuple[str, list[list[Any]], int, dict[str, tuple[int, str]]]:
    names = list(workbook.sheet_names)
    named = _find_sheet(names, ACTIVITY_SHEET)
    if named is not None:
        rows = _sheet_rows(workbook, named)
        header = _header(rows, nomenclature)
        if header is None:
            raise _missing_columns_error(named, rows, nomenclature)
        return named, rows, *header
    identification = _find_sheet(names, IDENTIFICATION_SHEET)
    hidden = {
        m.name
        for m in workbook.sheets_metadata
        if m.visible != python_calamine.SheetVisibleEnum.Visible
    }
    for name in names:
        if name == identification or name in hidden:
            continue
        rows = _sheet_rows(workbook, name)
        header = _header(rows, nomenclature)
        if header is not None:
            return name, rows, *header
    candidates = [n for n in names if n != identification and n not in hidden]
    if candidates:
        first = candidates[0]
        raise _missing_columns_error(first, _sheet_rows(workbook, first), nomenclature)
    raise ReturnFileError(
        "no_header_row",
        value=", ".join(f"« {c.label} »" for c in nomenclature.columns if c.required),
    )


def _identification(
    workbook: python_calamine.CalamineWorkbook,
    nomenclature: Nomenclature,
    before_reading: Callable[[str], None] | None = None,
) -> tuple[str | None, dict[str, tuple[Any, str, int]], list[RemovedControls]]:
    name = _find_sheet(list(workbook.sheet_names), IDENTIFICATION_SHEET)
    if name is None:
        return None, {}, []
    if before_reading is not None:
        before_reading(name)
    values: dict[str, tuple[Any, str, int]] = {}
    removed = []
    for index, row in enumerate(_sheet_rows(workbook, name)):
        if len(row) < 2 or not isinstance(row[0], str):
            continue
        entry = nomenclature.identification.match(row[0].rstrip(" :"))
        if entry is not None and entry.code not in values:
            values[entry.code] = (clean_cell(row[1]), name, index + 1)
            if isinstance(row[1], str) and has_unstorable(row[1]):
                removed.append(RemovedControls(name, index + 1, 1, row[0].strip(), None, row[1]))
    return name, values, removed


def read_identification(
    path: Path,
    nomenclature: Nomenclature,
    before_reading: Callable[[str], None] | None = None,
) -> dict[str, tuple[Any, str, int]]:
    """The Identification values of a return (as ``RawReturn.identification``), nothing else.

    ``before_reading`` is called with the sheet's name before its cells are read (a guard may
    raise there). Raises ``ReturnFileError`` when the file cannot be opened.
    """
    workbook = _open(path)
    try:
        return _identification(workbook, nomenclature, before_reading)[1]
    finally:
        workbook.close()


def read_return(
    path: Path,
    nomenclature: Nomenclature,
    max_rows: int = MAX_ROWS,
    max_columns: int = MAX_COLUMNS,
    look_for_cell_problems: bool = True,
) -> RawReturn:
    """Read a return's Identification values and activity rows.

    Raises ``ReturnFileError`` for every file-level problem of reading (format, unreadable file,
    no header row, missing required column, more than ``max_rows`` activity rows or
    ``max_columns`` header labels). ``look_for_cell_problems`` False skips the search for error
    values and formulas in the sheet XML, for a file the guards found none in
    (``file_guards.FileScan``).
    """
    workbook = _open(path)
    try:
        ident_sheet, identification, removed = _identification(workbook, nomenclature)
        try:
            sheet, rows, header_index, columns = _activity_sheet(workbook, nomenclature)
        except ReturnFileError as err:
            err.identification = identification
            err.removed_controls = removed
            raise
    finally:
        workbook.close()
    problems = xlsx_cell_problems(path, sheet) if look_for_cell_problems else {}
    for (row, column), problem in problems.items():
        if row > header_index:  # calamine shows these cells as empty, or not at all
            rows.extend([] for _ in range(row + 1 - len(rows)))
            rows[row].extend("" for _ in range(column + 1 - len(rows[row])))
            rows[row][column] = problem
    header = rows[header_index]
    labels = sum(1 for cell in header if cell is not None and str(cell).strip())
    if labels > max_columns:
        raise ReturnFileError(
            "too_many_columns", sheet=sheet, row=header_index + 1, value=labels, limit=max_columns
        )
    mapped = {index for index, _ in columns.values()}
    extra = [
        str(cell).strip()
        for index, cell in enumerate(header)
        if index not in mapped and isinstance(cell, str | int | float) and str(cell).strip()
    ]
    body = rows[header_index + 1 :]
    kept = [offset for offset, row in enumerate(body) if not _is_blank(row)]
    if len(kept) > max_rows:
        raise ReturnFileError("too_many_rows", sheet=sheet, limit=max_rows)
    width = max((index for index, _ in columns.values()), default=-1) + 1
    grid = list(zip(*(_padded(body[offset], width) for offset in kept), strict=False))
    excel_rows = [header_index + 2 + offset for offset in kept]
    data = {}
    for name, (index, label) in columns.items():
        cells = grid[index] if grid else ()
        dirty: set[str] = set()
        data[name] = by_value(cells, _noting(dirty)) if grid else []
        if dirty:  # rare: only then are the column's cells looked at again
            removed += [
                RemovedControls(sheet, excel_row, index, label, name, cell)
                for excel_row, cell in zip(excel_rows, cells, strict=True)
                if type(cell) is str and cell in dirty
            ]
    frame = pd.DataFrame(
        data, index=pd.Index(excel_rows, name="source_row", dtype="int64"), dtype=object
    )
    return RawReturn(
        path=path,
        sheet=sheet,
        header_row=header_index + 1,
        columns=columns,
        extra_columns=extra,
        rows=frame,
        identification=identification,
        identification_sheet=ident_sheet,
        removed_controls=sorted(removed, key=_sheet_order),
    )


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


def discover_returns(folder: Path) -> list[Path]:
    """The files of one year's inbox folder, lock and hidden files left out, sorted by name."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(("~$", ".")))
