"""Cells whose value a spreadsheet could not give: error values and formulas never computed.

python-calamine reads an Excel error (``#N/A``, ``#DIV/0!``) and a formula saved without its
result as an empty cell. A centre would then be told "empty cell" where the real problem is a
broken formula, so for ``.xlsx``/``.xlsm`` this module looks at the sheet's XML, and only when
the XML holds a formula or an error at all (a byte search, so ordinary files cost nothing), with
defusedxml, which refuses entity expansion ("billion laughs") and external entities. It reports
those cells; deciding that they are errors, and saying so in French, is ``validation``'s
job. Text that spells an error value (as ``.ods``/``.xls`` exports may hold) is recognised too.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException, ElementTree

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_CELL_REF = re.compile(r"^([A-Z]+)(\d+)$")
ERROR_VALUES = frozenset(
    {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#SPILL!", "#CALC!"}
)
_LIBREOFFICE_ERROR = re.compile(r"^Err:\d{3}$")


@dataclass(frozen=True)
class CellProblem:
    """A cell holding no usable value: ``kind`` is ``error`` or ``formula`` (no cached result)."""

    kind: str
    text: str

    def __str__(self) -> str:
        return self.text


def error_text(value: str) -> CellProblem | None:
    """A ``CellProblem`` for text that spells a spreadsheet error value, else None."""
    text = value.strip()
    if text.upper() in ERROR_VALUES or _LIBREOFFICE_ERROR.match(text):
        return CellProblem("error", text)
    return None


def _position(ref: str) -> tuple[int, int]:
    """0-based (row, column) of a cell reference such as ``D14``."""
    match = _CELL_REF.match(ref)
    if match is None:
        raise ValueError(f"not a cell reference: {ref!r}")
    column = 0
    for letter in match[1]:
        column = column * 26 + ord(letter) - 64
    return int(match[2]) - 1, column - 1


def sheet_part(archive: zipfile.ZipFile, sheet_name: str) -> str | None:
    """The archive path of a sheet's XML in an ``.xlsx``, found through the workbook's rels."""
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target", "") for r in rels.iter(f"{_PKG_REL}Relationship")}
    for sheet in workbook.iter(f"{_MAIN}sheet"):
        if sheet.get("name") == sheet_name:
            target = targets.get(sheet.get(f"{_REL}id"), "")
            if target.startswith("/"):
                return target.lstrip("/")
            return posixpath.normpath(posixpath.join("xl", target))
    return None


def xlsx_cell_problems(path: Path, sheet_name: str) -> dict[tuple[int, int], CellProblem]:
    """Error cells and uncomputed formulas of one sheet of an ``.xlsx``/``.xlsm`` file.

    Keys are 0-based (row, column). Anything else (another format, an unreadable archive) gives
    an empty mapping: reading problems are reported by the reader itself.
    """
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        return {}
    try:
        with zipfile.ZipFile(path) as archive:
            part = sheet_part(archive, sheet_name)
            if part is None:
                return {}
            data = archive.read(part)
    except (OSError, KeyError, zipfile.BadZipFile, ParseError, DefusedXmlException):
        return {}
    if b't="e"' not in data and b"<f" not in data:
        return {}
    problems: dict[tuple[int, int], CellProblem] = {}
    try:
        cells = list(_cells(data))
    except (ParseError, DefusedXmlException):  # entity tricks: defusedxml refuses to expand them
        return {}
    for ref, kind, text in cells:
        problems[_position(ref)] = CellProblem(kind, text)
    return problems


def _cells(data: bytes):
    """(reference, kind, text) of the error cells and uncomputed formulas of a sheet XML."""
    for _, cell in ElementTree.iterparse(io.BytesIO(data), events=("end",)):
        if cell.tag != f"{_MAIN}c":
            continue
        formula = cell.find(f"{_MAIN}f")
        value = cell.find(f"{_MAIN}v")
        ref = cell.get("r")
        if ref:
            if cell.get("t") == "e":
                yield ref, "error", (value.text or "#N/A").strip() if value is not None else "#N/A"
            elif formula is not None and (value is None or value.text is None):
                yield ref, "formula", f"={formula.text or ''}"
        cell.clear()
