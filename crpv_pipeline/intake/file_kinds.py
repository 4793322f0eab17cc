"""What a file really is, from its first bytes: a workbook, or something else in disguise.

Centres send CSV exports renamed ``.xlsx``, web pages saved as ``.xls`` (what many tools call an
"Excel export"), PDF prints. The reader would fail on them with a library's English message; this
module tells, from the first bytes and the name's extension, what such a file is and how to fix
it, in French. Stays out: refusing the file (``file_guards`` raises) and reading it (``reading``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SUPPORTED_SUFFIXES = (".xlsx", ".xlsm", ".ods", ".xls")
"""The workbook formats a return may come in."""
MAX_ROWS = 50_000
MAX_COLUMNS = 200
"""The largest activity sheet read, in rows and columns (``CRPV_MAX_ROWS``, ``CRPV_MAX_COLUMNS``
raise or lower them)."""

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
"""The container of ``.xls`` workbooks, and of encrypted ``.xlsx`` files."""
HEAD_BYTES = 4096
"""How much of a file's start ``disguise`` looks at."""

RESAVE = "ouvrez-le dans votre tableur et enregistrez-le au format Excel .xlsx."
_EXPECTED = {".xlsx": "xlsx", ".xlsm": "xlsx", ".ods": "ods", ".xls": "xls"}
_SEPARATED = re.compile(r"^[^\n]*[;,\t][^\n]*$", re.MULTILINE)


@dataclass(frozen=True)
class Disguise:
    """A file that is not the workbook its extension says: what it is and how to fix it."""

    kind: str
    """French, with its article and the agreed past participle: « une page HTML enregistrée »."""
    fix: str = RESAVE


_PDF = Disguise(
    "un document PDF enregistré",
    "envoyez le classeur lui-même (au format Excel .xlsx), pas sa version PDF.",
)
_HTML = Disguise("une page HTML enregistrée")
_XML_2003 = Disguise("un classeur « XML 2003 » enregistré")
_XML = Disguise("un fichier XML enregistré")
_CSV = Disguise("un export CSV (texte à colonnes séparées) enregistré")
_TEXT = Disguise("un document texte enregistré")
_WORKBOOKS = {
    "xls": Disguise("un classeur Excel 97-2003 (.xls) enregistré"),
    "xlsx": Disguise("un classeur Excel (.xlsx) enregistré"),
    "ods": Disguise("un classeur OpenDocument (.ods) enregistré"),
}


def disguise(head: bytes, suffix: str) -> Disguise | None:
    """What a file starting with ``head`` is, when it is not a workbook of ``suffix``.

    None when it may be one (the reader decides), or when nothing here recognises it. Zip
    archives are told apart by their parts (``archive_disguise``), not here.
    """
    expected = _EXPECTED.get(suffix.lower())
    if expected is None or head.startswith(ZIP_MAGIC):
        return None
    if head.startswith(OLE_MAGIC):
        return None if expected in ("xls", "xlsx") else _WORKBOOKS["xls"]
    if head.startswith(b"%PDF"):
        return _PDF
    text = _text(head)
    if text is None:
        return None
    start = text.lstrip("\ufeff \t\r\n").lower()
    if start.startswith(("<!doctype html", "<html")) or (
        start.startswith("<") and re.search(r"<(html|table|body)\b", start)
    ):
        return _HTML
    if start.startswith("<?xml"):
        return _XML_2003 if "urn:schemas-microsoft-com:office:spreadsheet" in start else _XML
    lines = [line for line in start.splitlines()[:-1] or start.splitlines() if line.strip()]
    if lines and all(_SEPARATED.match(line) for line in lines[:5]):
        return _CSV
    return _TEXT


def ole_disguise(data: bytes, suffix: str) -> Disguise | None:
    """An ``.xls`` workbook named ``.xlsx``/``.xlsm``: ``data`` is the OLE file (or its start).

    An OLE file with an ``EncryptedPackage`` stream is an encrypted ``.xlsx``, not a disguise.
    """
    if suffix.lower() not in (".xlsx", ".xlsm"):
        return None
    if "EncryptedPackage".encode("utf-16-le") in data:
        return None
    if any(name.encode("utf-16-le") in data for name in ("Workbook", "Book")):
        return _WORKBOOKS["xls"]
    return None


def archive_disguise(names: set[str], mimetype: bytes, suffix: str) -> Disguise | None:
    """A zip workbook of another format than ``suffix`` says (an ``.ods`` named ``.xlsx``…)."""
    expected = _EXPECTED.get(suffix.lower())
    if "xl/workbook.xml" in names:
        actual = "xlsx"
    elif "content.xml" in names and mimetype.startswith(b"application/vnd.oasis.opendocument.spr"):
        actual = "ods"
    else:
        return None  # another kind of zip: the reader says it cannot open it
    return None if actual == expected else _WORKBOOKS[actual]


def _text(head: bytes) -> str | None:
    """``head`` as text when it looks like text (UTF-8, UTF-16 with its mark, or Windows-1252)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="ignore")
    if b"\x00" in head:
        return None
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start >= len(head) - 3:  # a character cut at the end of the head
            return head[: err.start].decode("utf-8")
    text = head.decode("cp1252", errors="replace")
    printable = sum(1 for c in text if c.isprintable() or c in "\r\n\t")
    return text if printable >= 0.95 * len(text) else None
