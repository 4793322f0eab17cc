"""Guards run on a return before any parsing: hostile or oversized files cost one rejection.

Belongs here: what can be decided from the file system entry, the first bytes and the archive
directory alone — a symbolic link, an empty or oversized file, a file that is not the workbook
its extension says (``file_kinds``), an encrypted workbook, a zip bomb (declared sizes of every
part, shared strings included, and compression ratios), an XML part declaring entities, a sheet
whose cell grid is too large to be read safely — the configurable ``Limits``, and ``guard``,
which ``reading.open_workbook`` runs before every opening. Each problem is a
``ReturnFileError`` with a rule of ``rules.csv``. Stays out: reading cells (``reading``) and
judging values (``validation``).
"""

from __future__ import annotations

import os
import re
import zipfile
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from xml.etree.ElementTree import ParseError
from zlib import error as zlib_error

from defusedxml import DefusedXmlException

from crpv_pipeline.intake.cell_problems import sheet_part
from crpv_pipeline.intake.file_kinds import (
    HEAD_BYTES,
    MAX_COLUMNS,
    MAX_ROWS,
    OLE_MAGIC,
    SUPPORTED_SUFFIXES,
    ZIP_MAGIC,
    Disguise,
    archive_disguise,
    disguise,
    ole_disguise,
)
from crpv_pipeline.model import ReturnFileError
from crpv_pipeline.reference.parsing import french_number
from crpv_pipeline.settings import limit_overrides

_BROKEN_ZIP = "archive zip endommagée ou incomplète"
_XML_PARTS = (".xml", ".rels")
_PROLOG_BYTES = 64 * 1024
"""How far into an XML part its root element must start (declarations and comments first)."""
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
    max_uncompressed_bytes: int = 256 * 1024 * 1024
    """What every part of a zip package (sheets, shared strings, styles…) inflates to, in all:
    the reader holds the shared strings whole, and builds cells from the sheets."""
    max_compression_ratio: int = 200
    max_grid_cells: int = 24_000_000
    """Rows × columns of a sheet's used range: the reader holds the whole grid in memory."""


DEFAULT_LIMITS = Limits()


def limits_from_environment(environ: Mapping[str, str] | None = None) -> Limits:
    """``Limits`` with ``CRPV_MAX_ROWS``, ``CRPV_MAX_COLUMNS``, ``CRPV_MAX_FILE_MB`` applied.

    Read when a run or a check starts (never at import); a value that is not a positive whole
    number raises ``ValueError`` naming the variable (``settings.limit_overrides``).
    """
    return replace(DEFAULT_LIMITS, **limit_overrides(environ))


def _megabytes(size: int) -> str:
    return f"{french_number(size / 1024 / 1024, 1)} Mo"


@dataclass(frozen=True)
class FileScan:
    """What the guards saw of a file they let through."""

    may_hold_cell_problems: bool = True
    """False when every worksheet XML was scanned and holds no error value and no formula:
    the reader then need not look for them (``cell_problems``)."""
    worksheets_checked: bool = True
    """Whether the used range of every worksheet was checked (``check_worksheet`` need not be
    called before reading one)."""


def check_file(
    path: Path, limits: Limits = DEFAULT_LIMITS, scan_worksheets: bool = True
) -> FileScan:
    """Raise ``ReturnFileError`` when ``path`` must be rejected before it is opened.

    ``scan_worksheets`` False leaves out the used range of each sheet (which streams its XML):
    the caller then checks the one sheet it reads with ``check_worksheet`` first (the workbooks
    of ``reading.open_workbook`` do so).
    """
    if path.is_symlink():
        raise ReturnFileError("symlink_refused")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise ReturnFileError("unsupported_format", value=path.suffix or path.name)
    size = path.stat().st_size
    if size == 0:
        raise ReturnFileError("empty_file")
    if size > limits.max_file_bytes:
        raise ReturnFileError(
            "file_too_large", value=_megabytes(size), limit=_megabytes(limits.max_file_bytes)
        )
    with path.open("rb") as fh:
        head = fh.read(HEAD_BYTES)
    _refuse_disguise(disguise(head, suffix), suffix)
    if suffix in (".xlsx", ".xlsm") and head.startswith(OLE_MAGIC):
        _refuse_disguise(ole_disguise(path.read_bytes(), suffix), suffix)
        raise ReturnFileError("password_protected")
    if head.startswith(ZIP_MAGIC):
        return _check_archive(path, limits, scan_worksheets)
    return FileScan(worksheets_checked=scan_worksheets)


def _refuse_disguise(found: Disguise | None, suffix: str) -> None:
    if found is not None:
        raise ReturnFileError("disguised_file", kind=found.kind, suffix=suffix, fix=found.fix)


_GUARDED: OrderedDict[tuple, FileScan] = OrderedDict()
_GUARDED_KEPT = 64


def guard(path: Path, limits: Limits, scan_worksheets: bool = False) -> FileScan:
    """``check_file``, run once per file version (path, size, modification time) and limits.

    What ``reading.open_workbook`` calls before every opening: the second opening of a return
    (its correction workbook, after its validation) costs nothing, and a changed file is checked
    again. A scan of every worksheet answers a later call that needs none.
    """
    try:
        stat = path.lstat()
        key = (os.fspath(path), stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, limits)
        scan = _GUARDED.get(key)
        if scan is None or (scan_worksheets and not scan.worksheets_checked):
            scan = _GUARDED[key] = check_file(path, limits, scan_worksheets)
    except OSError as err:
        raise ReturnFileError("unreadable_file", detail=os_error_text(err)) from err
    else:
        _GUARDED.move_to_end(key)
        while len(_GUARDED) > _GUARDED_KEPT:
            _GUARDED.popitem(last=False)
        return scan


def os_error_text(err: OSError) -> str:
    """A French phrase for why the system could not read a file."""
    if isinstance(err, PermissionError):
        return "lecture refusée par le système"
    if isinstance(err, FileNotFoundError):
        return "fichier introuvable : il a été déplacé ou supprimé pendant la lecture"
    if isinstance(err, IsADirectoryError):
        return "c'est un dossier, dont le contenu n'a pas pu être lu"
    return "erreur de lecture du disque"


def inflated_size(path: Path, limits: Limits = DEFAULT_LIMITS) -> int:
    """What reading a return costs, in bytes: its zip parts inflated, else its own size.

    What the pipeline counts to keep the returns read at once within a memory budget. 0 for a
    file the guards refuse from its size or its zip directory (it is never parsed) or that
    cannot be read.
    """
    try:
        size = path.stat().st_size
        if size > limits.max_file_bytes:
            return 0
        with path.open("rb") as fh:
            if fh.read(4) != ZIP_MAGIC:
                return size
        with zipfile.ZipFile(path) as archive:
            inflated = sum(entry.file_size for entry in archive.infolist())
    except (OSError, zipfile.BadZipFile):
        return 0
    return inflated if inflated <= limits.max_uncompressed_bytes else 0


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
        raise ReturnFileError("unreadable_file", detail=_BROKEN_ZIP) from err


def _check_archive(path: Path, limits: Limits, scan_worksheets: bool = True) -> FileScan:
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
            if any(e.flag_bits & 0x1 for e in entries):
                raise ReturnFileError("password_protected")
            total = sum(e.file_size for e in entries)  # every part, shared strings included
            ratio = max(
                (e.file_size / e.compress_size for e in entries if e.compress_size > 0),
                default=0,
            )
            if total > limits.max_uncompressed_bytes or (
                total > 10 * 1024 * 1024 and ratio > limits.max_compression_ratio
            ):
                raise ReturnFileError("zip_bomb", value=_megabytes(total))
            names = {e.filename for e in entries}
            mimetype = archive.read("mimetype")[:100] if "mimetype" in names else b""
            _refuse_disguise(archive_disguise(names, mimetype, path.suffix), path.suffix.lower())
            for entry in entries:
                if entry.filename.endswith(_XML_PARTS):
                    _check_prolog(archive, entry)
            worksheets = [
                e
                for e in entries
                if e.filename.startswith("xl/worksheets/") and e.filename.endswith(".xml")
            ]
            if not scan_worksheets:
                return FileScan(worksheets_checked=False)
            problems = [_check_grid(archive, entry, limits) for entry in worksheets]
            return FileScan(may_hold_cell_problems=not worksheets or any(problems))
    except (zipfile.BadZipFile, EOFError, zlib_error) as err:
        raise ReturnFileError("unreadable_file", detail=_BROKEN_ZIP) from err


_DECLARATIONS = re.compile(rb"\s*(<\?.*?\?>|<!--.*?-->)", re.DOTALL)


def _check_prolog(archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> None:
    """Refuse an XML part that declares entities, or whose root element starts after 64 Ko.

    A "billion laughs" declares entities that expand by the billion. Only the start of the part
    is inflated: a document type comes before the root element. Packages never need one (the
    OOXML packaging rules forbid it); an old ``.ods`` manifest may name an external DTD, which
    no reader fetches, so only a declared internal subset is refused.
    """
    with archive.open(entry) as stream:
        data = stream.read(_PROLOG_BYTES)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        data = data.decode("utf-16", errors="replace").encode("utf-8")
    position = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    while match := _DECLARATIONS.match(data, position):
        position = match.end()
    rest = data[position:].lstrip()
    if rest.startswith(b"<!DOCTYPE"):
        root = rest.find(b">")
        subset = rest.find(b"[")
        if root < 0 or 0 <= subset < root or b"<!ENTITY" in rest:
            raise ReturnFileError(
                "unreadable_file", detail="déclarations d'entités XML, refusées par sécurité"
            )
    elif len(data) == _PROLOG_BYTES and (not rest or rest.startswith((b"<?", b"<!--"))):
        raise ReturnFileError("unreadable_file", detail="en-tête XML anormalement long")


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
