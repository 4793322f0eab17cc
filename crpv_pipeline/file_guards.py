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
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from crpv_pipeline.parsing import french_number
from crpv_pipeline.reading import MAX_COLUMNS, MAX_ROWS, SUPPORTED_SUFFIXES, ReturnFileError

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # also the container of encrypted .xlsx files
_LAST_ROW = re.compile(rb'<row[^>]*\br="(\d+)"')
_CELL_COLUMN = re.compile(rb'<c r="([A-Z]{1,3})\d')
_CHUNK = 1 << 20
_OVERLAP = 64  # a reference cut between two chunks is found whole in the next one
_CELL_PROBLEM_MARKUP = (b't="e"', b"<f")  # an error value, a formula (as cell_problems looks)


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


def check_file(path: Path, limits: Limits = DEFAULT_LIMITS) -> FileScan:
    """Raise ``ReturnFileError`` when ``path`` must be rejected before it is opened."""
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
        return _check_archive(path, limits)
    return FileScan()


def _check_archive(path: Path, limits: Limits) -> FileScan:
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
            problems = [_check_grid(archive, entry, limits) for entry in worksheets]
            return FileScan(may_hold_cell_problems=not worksheets or any(problems))
    except zipfile.BadZipFile as err:
        raise ReturnFileError("unreadable_file", detail="archive zip invalide") from err


def _check_grid(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, limits: Limits) -> bool:
    """Refuse a sheet whose used range (last row × widest column) is too large to hold.

    The sheet XML is streamed in chunks, never held whole. Returns whether it may hold error
    values or formulas (a byte search for their markup).
    """
    last_row, letters, tail, marked = 0, set(), b"", False
    with archive.open(entry) as stream:
        while chunk := stream.read(_CHUNK):
            data = tail + chunk
            rows = _LAST_ROW.findall(data)
            if rows:
                last_row = max(last_row, int(rows[-1]))
            letters.update(_CELL_COLUMN.findall(data))
            marked = marked or any(marker in data for marker in _CELL_PROBLEM_MARKUP)
            tail = data[-_OVERLAP:]
    columns = max((_width(column) for column in letters), default=0)
    if last_row * columns > limits.max_grid_cells:
        raise ReturnFileError(
            "sheet_too_large",
            value=f"{french_number(last_row)} lignes × {french_number(columns)} colonnes",
        )
    return marked


def _width(letters: bytes) -> int:
    """1-based column number of column letters (``b"AB"`` → 28)."""
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number
