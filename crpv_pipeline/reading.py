"""Reading a centre's return: find the sheets, the header row and the cells (contract §1).

This module turns a workbook into raw values that keep their place in the sheet (Excel row
number, column letter, label as written). It decides nothing about whether a value is valid:
that is ``validation``'s job. It reads with python-calamine, which handles ``.xlsx``, ``.xlsm``
(macros are never run), ``.xls`` and ``.ods``, and it never writes anything. ``open_workbook`` is
the only function of the package that opens a centre's file, and it runs the file guards first.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import python_calamine

from crpv_pipeline.cell_problems import error_text, xlsx_cell_problems
from crpv_pipeline.control_characters import RemovedControls, has_unstorable, remove_unstorable
from crpv_pipeline.inbox import discover_returns as discover_returns  # listed here before
from crpv_pipeline.normalisation import by_value
from crpv_pipeline.refdata import ColumnSpec, Nomenclature, normalize_label

if TYPE_CHECKING:
    from crpv_pipeline.file_guards import Limits

SUPPORTED_SUFFIXES = (".xlsx", ".xlsm", ".ods", ".xls")
HEADER_SEARCH_ROWS = 30
MAX_ROWS = 50_000
MAX_COLUMNS = 200
ACTIVITY_SHEET = "Activités"
IDENTIFICATION_SHEET = "Identification"
_ACTIVITY_NAME = re.compile(r"activites?(?![a-z])")
"""A sheet name (loosely matched) that names an activity sheet: « Activités 2e semestre »."""
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
    identification: dict[str, tuple[Any, str, int]] = field(default_factory=dict)
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


class GuardedWorkbook:
    """A centre's workbook, opened by ``open_workbook`` once the file guards let it through.

    The only way the package reads a return's cells: a sheet is handed over
    (``get_sheet_by_name``) only once its used range was checked (``file_guards``).
    """

    def __init__(
        self,
        book: python_calamine.CalamineWorkbook,
        path: Path,
        limits: Limits,
        worksheets_checked: bool,
    ):
        self._book = book
        self._path = path
        self._limits = limits
        self._checked: set[str] = set()
        self.worksheets_checked = worksheets_checked
        """Whether the guards checked every sheet's used range already (``FileScan``)."""
        self.sheet_names: list[str] = list(book.sheet_names)
        self.sheets_metadata = book.sheets_metadata

    def get_sheet_by_name(self, name: str) -> python_calamine.CalamineSheet:
        """A sheet, refused (``sheet_too_large``) when its cell grid is too large to build."""
        if not self.worksheets_checked and name not in self._checked:
            from crpv_pipeline.file_guards import check_worksheet

            check_worksheet(self._path, name, self._limits)
            self._checked.add(name)
        return self._book.get_sheet_by_name(name)

    def is_hidden(self, name: str) -> bool:
        return any(
            m.name == name and m.visible != python_calamine.SheetVisibleEnum.Visible
            for m in self.sheets_metadata
        )

    def close(self) -> None:
        self._book.close()


def open_workbook(path: Path, limits: Limits | None = None) -> GuardedWorkbook:
    """Open a centre's workbook: the only function of the package that opens one.

    The file guards run first (``file_guards.guard``: once per version of the file, whoever
    opens it), with ``limits`` or those of the environment (``CRPV_MAX_*``). Raises
    ``ReturnFileError`` (in French) when the file is refused or cannot be opened, whatever
    bytes its name holds.
    """
    from crpv_pipeline.file_guards import guard, limits_from_environment, os_error_text

    limits = limits if limits is not None else limits_from_environment(os.environ)
    scan = guard(path, limits)
    try:
        try:
            name = str(path).encode("utf-8").decode("utf-8")
        except UnicodeEncodeError:  # a name with bytes that are not UTF-8: give calamine the bytes
            with path.open("rb") as fh:
                book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(fh.read()))
        else:
            book = python_calamine.CalamineWorkbook.from_path(name)
    except OSError as err:
        raise ReturnFileError("unreadable_file", detail=os_error_text(err)) from err
    except Exception as err:  # calamine raises several exception types for broken files
        raise ReturnFileError("unreadable_file", detail=_reader_detail(err)) from err
    return GuardedWorkbook(book, path, limits, scan.worksheets_checked)


_READER_DETAILS = (
    ("zip", "archive zip endommagée ou incomplète"),
    ("entit", "déclarations d'entités XML, refusées par sécurité"),
    ("password", "classeur protégé par un mot de passe"),
    ("encrypt", "classeur protégé par un mot de passe"),
    ("xlsx", "classeur Excel endommagé"),
    ("xml", "contenu XML invalide"),
    ("cfb", "classeur Excel 97-2003 endommagé"),
    ("xls", "classeur Excel 97-2003 endommagé"),
    ("ods", "classeur OpenDocument endommagé"),
)


def _reader_detail(err: BaseException) -> str:
    """A French phrase for why the reader could not open or read a workbook."""
    text = str(err).lower()
    for word, detail in _READER_DETAILS:
        if word in text:
            return detail
    return "contenu que le lecteur de classeurs ne reconnaît pas"


def _sheet_rows(workbook: GuardedWorkbook, name: str) -> list[list[Any]]:
    sheet = workbook.get_sheet_by_name(name)  # a sheet too large is refused here, as it says
    try:
        return sheet.to_python(skip_empty_area=False)
    except Exception as err:
        raise ReturnFileError("unreadable_file", sheet=name, detail=_reader_detail(err)) from err


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


def _missing(
    rows: list[list[Any]], nomenclature: Nomenclature
) -> tuple[int, list[ColumnSpec]] | None:
    """The row nearest to a header in a sheet that has none: (0-based row, columns it lacks).

    None when no row holds two required labels.
    """
    required = [c for c in nomenclature.columns if c.required]
    best_index, best = -1, {}
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        found = _match_header(row, nomenclature)
        if len(found.keys() & {c.field for c in required}) > len(best):
            best_index, best = index, found
    if len(best) >= 2:
        return best_index, [c for c in required if c.field not in best]
    return None


def _missing_columns_error(sheet: str, rows: list[list[Any]], nomenclature: Nomenclature):
    """The most helpful file-level error when no complete header row exists in ``sheet``."""
    nearest = _missing(rows, nomenclature)
    if nearest is not None:
        best_index, missing = nearest
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
        value=", ".join(f"« {c.label} »" for c in nomenclature.columns if c.required),
    )


def is_activity_sheet_name(name: str) -> bool:
    """Whether a sheet's name, loosely matched, starts with « Activités » / « Activité »."""
    return _ACTIVITY_NAME.match(normalize_label(name)) is not None


def _mismatch_error(
    named: Sequence[str], failed: Sequence[tuple[str, list[list[Any]]]], nomenclature: Nomenclature
) -> ReturnFileError:
    """Several sheets named as activity sheets, some without a complete header row."""
    details = []
    for name, rows in failed:
        nearest = _missing(rows, nomenclature)
        if nearest is None:
            details.append(f"« {name} » n'a pas de ligne d'en-tête dans ses 30 premières lignes")
        else:
            labels = ", ".join(f"« {c.label} »" for c in nearest[1])
            columns = "la colonne" if len(nearest[1]) == 1 else "les colonnes"
            details.append(f"« {name} » n'a pas {columns} {labels} (ligne {nearest[0] + 1})")
    first, rows = failed[0]
    nearest = _missing(rows, nomenclature)
    return ReturnFileError(
        "activity_sheets_mismatch",
        sheet=first,
        row=nearest[0] + 1 if nearest is not None else None,
        value=", ".join(f"« {n} »" for n in named),
        detail=" ; ".join(details),
    )


def _activity_sheets(
    workbook: GuardedWorkbook, nomenclature: Nomenclature
) -> list[tuple[str, list[list[Any]], int, dict[str, tuple[int, str]]]]:
    """(name, cells, 0-based header row, columns) of each activity sheet to read.

    The visible sheets whose name starts with « Activités » (loosely), every one of them; when
    one of several lacks a complete header row, the file is rejected naming them. Failing any,
    the first visible sheet (the Identification sheet aside) whose header row is found.
    """
    names = list(workbook.sheet_names)
    hidden = {
        m.name
        for m in workbook.sheets_metadata
        if m.visible != python_calamine.SheetVisibleEnum.Visible
    }
    visible = [n for n in names if n not in hidden]
    named = [n for n in visible if is_activity_sheet_name(n)]
    if named:
        found, failed = [], []
        for name in named:
            rows = _sheet_rows(workbook, name)
            header = _header(rows, nomenclature)
            if header is None:
                failed.append((name, rows))
            else:
                found.append((name, rows, *header))
        if not failed:
            return found
        if len(named) == 1:
            raise _missing_columns_error(*failed[0], nomenclature)
        raise _mismatch_error(named, failed, nomenclature)
    identification = _find_sheet(names, IDENTIFICATION_SHEET)
    candidates = [n for n in visible if n != identification]
    for name in candidates:
        rows = _sheet_rows(workbook, name)
        header = _header(rows, nomenclature)
        if header is not None:
            return [(name, rows, *header)]
    if candidates:
        first = candidates[0]
        raise _missing_columns_error(first, _sheet_rows(workbook, first), nomenclature)
    raise ReturnFileError(
        "no_header_row",
        value=", ".join(f"« {c.label} »" for c in nomenclature.columns if c.required),
    )


def _identification(
    workbook: GuardedWorkbook, nomenclature: Nomenclature
) -> tuple[str | None, dict[str, tuple[Any, str, int]], list[RemovedControls]]:
    name = _find_sheet(list(workbook.sheet_names), IDENTIFICATION_SHEET)
    if name is None:
        return None, {}, []
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
    path: Path, nomenclature: Nomenclature, limits: Limits | None = None
) -> dict[str, tuple[Any, str, int]]:
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
            found = _activity_sheets(workbook, nomenclature)
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
    kept = [position for position, row in enumerate(body) if not _is_blank(row)]
    width = max((index for index, _ in columns.values()), default=-1) + 1
    grid = list(zip(*(_padded(body[position], width) for position in kept), strict=False))
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
