"""Reading a centre's return: find the sheets, the header row and the cells (contract §1).

This module opens a workbook and finds its sheets and header row; ``raw_return`` turns them into raw
values that keep their place in the sheet (Excel row number, column letter, label as written). It
decides nothing about whether a value is valid: that is ``validation``'s job. It reads with python-
calamine, which handles ``.xlsx``, ``.xlsm`` (macros are never run), ``.xls`` and ``.ods``, and it
never writes anything. ``open_workbook`` is the only function of the package that opens a centre's
file, and it runs the file guards first.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import python_calamine

from crpv_pipeline.intake.cell_problems import error_text
from crpv_pipeline.intake.control_characters import (
    has_unstorable,
    remove_unstorable,
)
from crpv_pipeline.model import ReturnFileError
from crpv_pipeline.reference.refdata import ColumnSpec, Nomenclature, normalize_label

if TYPE_CHECKING:
    from crpv_pipeline.intake.file_guards import Limits


HEADER_SEARCH_ROWS = 30


ACTIVITY_SHEET = "Activités"


IDENTIFICATION_SHEET = "Identification"


_ACTIVITY_NAME = re.compile(r"activites?(?![a-z])")
"""A sheet name (loosely matched) that names an activity sheet: « Activités 2e semestre »."""


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


def padded(row: list[Any], width: int) -> list[Any]:
    """``row`` with at least ``width`` cells (None past a short row)."""
    return row if len(row) >= width else [*row, *([None] * (width - len(row)))]


def is_blank(row: Sequence[Any]) -> bool:
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
            from crpv_pipeline.intake.file_guards import check_worksheet

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
    from crpv_pipeline.intake.file_guards import guard, limits_from_environment, os_error_text

    limits = limits if limits is not None else limits_from_environment()
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


def sheet_rows(workbook: GuardedWorkbook, name: str) -> list[list[Any]]:
    sheet = workbook.get_sheet_by_name(name)  # a sheet too large is refused here, as it says
    try:
        return sheet.to_python(skip_empty_area=False)
    except Exception as err:
        raise ReturnFileError("unreadable_file", sheet=name, detail=_reader_detail(err)) from err


def find_sheet(names: Sequence[str], wanted: str) -> str | None:
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


def activity_sheets(
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
            rows = sheet_rows(workbook, name)
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
    identification = find_sheet(names, IDENTIFICATION_SHEET)
    candidates = [n for n in visible if n != identification]
    for name in candidates:
        rows = sheet_rows(workbook, name)
        header = _header(rows, nomenclature)
        if header is not None:
            return [(name, rows, *header)]
    if candidates:
        first = candidates[0]
        raise _missing_columns_error(first, sheet_rows(workbook, first), nomenclature)
    raise ReturnFileError(
        "no_header_row",
        value=", ".join(f"« {c.label} »" for c in nomenclature.columns if c.required),
    )
