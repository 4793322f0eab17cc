"""Guards run on a return before any parsing: hostile or oversized files cost one rejection.

Belongs here: what can be decided from the file system entry and the archive directory alone —
a symbolic link, an empty or oversized file, an encrypted workbook, a zip bomb (declared sizes
and compression ratios), a sheet whose cell grid is too large to be read safely — and the
configurable ``Limits``. Each problem is a ``ReturnFileError`` with a rule of ``rules.csv``.
Stays out: reading cells (``reading``) and judging values (``validation``).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException

from crpv_pipeline.cell_problems import sheet_part
from crpv_pipeline.parsing import french_number
from crpv_pipeline.reading import MAX_COLUMNS, MAX_ROWS, SUPPORTED_SUFFIXES, ReturnFileError

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # also the container of encrypted .xlsx files
_LAST_ROW = re.compile(rb'<row[^>]*\br="(\d+)"')
_CELL_COLUMN = re.compile(rb'<c r="([A-Z]{1,3})\d')
_NARROW_WIDTH = 11  # columns A to K
_WIDE_CELL = re.compile(rb'<c r="(?:[L-Z]|[A-Z]{2,3})\d')  # a cell beyond column K
_CELL_PROBLEM_MARKUP = (b't="e"', b"<f")  # an error value, a formula (as cell_problems looks)
_CHUNK = 1 << 20
_OVERLAP = 64  # a reference cut between two chunks is found whole in the next one


@dataclass(frozen=True)
class Limits:
    """What the pipeline agrees to read from one return (contract: defaults of issue 7)."""

    max_file_bytes: int = 50 * 1024 * 1024
    max_rows: int = MAX_ROWS
    max_columns: int = MAX_COLUMNS
    max_uncompressed_bytes: int = 1024 * 1024 * 1024
    max_compression_ratio: int = 200
    max_grid_cells: int = 24_000_000
    """Rows × columns of a sheet's used range: the reader holds the whole grid in memory."""


DEFAULT_LIMITS = Limits()

_ENVIRONMENT = {
    "CRPV_MAX_ROWS": ("max_rows", 1),
    "CRPV_MAX_COLUMNS": ("max_columns", 1),
    "CRPV_MAX_FILE_MB": ("max_file_bytes", 1024 * 1024),
}


def limits_from_environment(environ: Mapping[str, str]) -> Limits:
    """``Limits`` with ``CRPV_MAX_ROWS``, ``CRPV_MAX_COLUMNS``, ``CRPV_MAX_FILE_MB`` applied.

    Read when a run or a check starts (never at import); a value that is not a positive whole
    number raises ``ValueError`` naming the variable.
    """
    changes = {}
    for name, (field, unit) in _ENVIRONMENT.items():
        text = environ.get(name, "").strip()
        if text:
            if not text.isdigit() or int(text) == 0:
                raise ValueError(f"{name}={text!r}: expected a positive whole number")
            changes[field] = int(text) * unit
    return replace(DEFAULT_LIMITS, **changes)


def _megabytes(size: int) -> str:
    return f"{french_number(size / 1024 / 1024, 1)} Mo"


@dataclass(frozen=True)
class FileScan:
    """What the guards saw of a file they let through."""

    may_hold_cell_problems: bool = True
    """False when every worksheet XML was scanned and holds no error value and no formula:
    the reader then need not look for them (``cell_problems``)."""


def check_file(
    path: Path, limits: Limits = DEFAULT_LIMITS, scan_worksheets: bool = True
) -> FileScan:
    """Raise ``ReturnFileError`` when ``path`` must be rejected before it is opened.

    ``scan_worksheets`` False leaves out the used range of each sheet (which streams its XML):
    the caller then checks the one sheet it reads with ``check_worksheet`` first.
    """
    if path.is_symlink():
        raise ReturnFileError("symlink_refused")
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise ReturnFileError("unsupported_format", value=path.suffix or path.name)
    size = path.stat().st_size
    if size == 0:
        raise ReturnFileError("empty_file")
    if size > limits.max_file_bytes:
        raise ReturnFileError(
            "file_too_large", value=_megabytes(size), limit=_megabytes(limits.max_file_bytes)
        )
    with path.open("rb") as fh:
        magic = fh.read(8)
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm") and magic == _OLE_MAGIC:
        raise ReturnFileError("password_protected")
    if magic.startswith(_ZIP_MAGIC):
        return _check_archive(path, limits, scan_worksheets)
    return FileScan()


def check_worksheet(path: Path, sheet_name: str, limits: Limits = DEFAULT_LIMITS) -> None:
    """Refuse one sheet of an ``.xlsx``/``.xlsm`` whose used range is too large to read.

    Other formats, and a sheet the archive does not map to an XML part, pass: the reader
    reports them.
    """
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        return
    try:
        with zipfile.ZipFile(path) as archive:
            part = sheet_part(archive, sheet_name)
            if part is not None and part in archive.namelist():
                _check_grid(archive, archive.getinfo(part), limits)
    except (zipfile.BadZipFile, KeyError, ParseError, DefusedXmlException) as err:
        raise ReturnFileError("unreadable_file", detail="archive zip invalide") from err


def _check_archive(path: Path, limits: Limits, scan_worksheets: bool = True) -> FileScan:
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
            if any(e.flag_bits & 0x1 for e in entries):
                raise ReturnFileError("password_protected")
            total = sum(e.file_size for e in entries)
            ratio = max(
                (e.file_size / e.compress_size for e in entries if e.compress_size > 0),
                default=0,
            )
            if total > limits.max_uncompressed_bytes or (
                total > 10 * 1024 * 1024 and ratio > limits.max_compression_ratio
            ):
                raise ReturnFileError("zip_bomb", value=_megabytes(total))
            worksheets = [
                e
                for e in entries
                if e.filename.startswith("xl/worksheets/") and e.filename.endswith(".xml")
            ]
            if not scan_worksheets:
                return FileScan()
            problems = [_check_grid(archive, entry, limits) for entry in worksheets]
            return FileScan(may_hold_cell_problems=not worksheets or any(problems))
    except zipfile.BadZipFile as err:
        raise ReturnFileError("unreadable_file", detail="archive zip invalide") from err


def _check_grid(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, limits: Limits) -> bool:
    """Refuse a sheet whose used range (last row × widest column) is too large to hold.

    The sheet XML is streamed in chunks, never held whole. Returns whether it may hold error
    values or formulas (a byte search for their markup). Columns are only counted one by one
    when a cell lies beyond column K: up to K, no sheet of 1 048 576 rows reaches the limit.
    """
    last_row, widest, marked = 0, _NARROW_WIDTH, False
    for data in _chunks(archive, entry):
        last_row = max(last_row, _last_row(data))
        if _WIDE_CELL.search(data):  # a cell beyond column K: count its columns exactly
            widest = max(widest, *map(_width, _CELL_COLUMN.findall(data)))
        marked = marked or any(markup in data for markup in _CELL_PROBLEM_MARKUP)
    if last_row * widest > limits.max_grid_cells:
        columns = _exact_width(archive, entry)
        if last_row * columns > limits.max_grid_cells:
            raise ReturnFileError(
                "sheet_too_large",
                value=f"{french_number(last_row)} lignes × {french_number(columns)} colonnes",
            )
    return marked


def _last_row(data: bytes) -> int:
    """The row number of the last complete ``<row … r="N"`` of a chunk (0 if none)."""
    end = len(data)
    while (start := data.rfind(b"<row", 0, end)) >= 0:
        match = _LAST_ROW.match(data, start)
        if match:
            return int(match[1])
        end = start
    return 0


def _exact_width(archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> int:
    """The widest column of any cell of a sheet (1-based), counted cell by cell."""
    return max(
        (
            _width(column)
            for data in _chunks(archive, entry)
            for column in _CELL_COLUMN.findall(data)
        ),
        default=0,
    )


def _chunks(archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> Iterator[bytes]:
    """A sheet's XML in chunks, never held whole.

    Each chunk starts with the end of the one before (``_OVERLAP``), so that markup cut between
    two chunks is found whole in the second.
    """
    tail = b""
    with archive.open(entry) as stream:
        while chunk := stream.read(_CHUNK):
            data = tail + chunk
            yield data
            tail = data[-_OVERLAP:]


def _width(letters: bytes) -> int:
    """1-based column number of column letters (``b"AB"`` → 28)."""
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number
