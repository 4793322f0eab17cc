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
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import python_calamine

from crpv_pipeline.cell_problems import error_text, xlsx_cell_problems
from crpv_pipeline.normalisation import by_value
from crpv_pipeline.refdata import Nomenclature, normalize_label

if TYPE_CHECKING:
    from crpv_pipeline.file_guards import Limits

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

    Text that spells a spreadsheet error (``#N/A``) becomes a ``CellProblem``.
    """
    if isinstance(value, str):
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


class Workbook:
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


def open_workbook(path: Path, limits: Limits | None = None) -> Workbook:
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
    return Workbook(book, path, limits, scan.worksheets_checked)


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


def _sheet_rows(workbook: Workbook, name: str) -> list[list[Any]]:
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
    workbook: Workbook, nomenclature: Nomenclature
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
    workbook: Workbook, nomenclature: Nomenclature
) -> tuple[str | None, dict[str, tuple[Any, str, int]]]:
    name = _find_sheet(list(workbook.sheet_names), IDENTIFICATION_SHEET)
    if name is None:
        return None, {}
    values: dict[str, tuple[Any, str, int]] = {}
    for index, row in enumerate(_sheet_rows(workbook, name)):
        if len(row) < 2 or not isinstance(row[0], str):
            continue
        entry = nomenclature.identification.match(row[0].rstrip(" :"))
        if entry is not None and entry.code not in values:
            values[entry.code] = (clean_cell(row[1]), name, index + 1)
    return name, values


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
    """Read a return's Identification values and activity rows.

    Raises ``ReturnFileError`` for every file-level problem of reading (format, unreadable file,
    no header row, missing required column, more than ``max_rows`` activity rows or
    ``max_columns`` header labels). ``look_for_cell_problems`` False skips the search for error
    values and formulas in the sheet XML, for a file the guards found none in
    (``file_guards.FileScan``). The file guards run first, with ``limits`` (``open_workbook``).
    """
    workbook = open_workbook(path, limits)
    try:
        ident_sheet, identification = _identification(workbook, nomenclature)
        try:
            sheet, rows, header_index, columns = _activity_sheet(workbook, nomenclature)
        except ReturnFileError as err:
            err.identification = identification
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
    data = {
        name: by_value(grid[index], clean_cell) if grid else []
        for name, (index, _) in columns.items()
    }
    excel_rows = [header_index + 2 + offset for offset in kept]
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
    )


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
