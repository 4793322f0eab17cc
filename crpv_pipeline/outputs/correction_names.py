"""Names in and of correction workbooks, and whether one already written can be kept.

Belongs here: the file name of a return's correction workbook (readable, ASCII, one per source
file, the same on every run), the names its copied sheets get (Excel refuses some that other
spreadsheets accept) and ``made_for``, the cheap check that a workbook on disk is whole and was
written for a given return. Stays out: writing workbooks (``corrections``), deciding which to
write (``year.outputs``).
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
import zipfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

CORRECTIONS_PREFIX = "corrections_"
"""Every correction workbook's file name starts with this."""
SOURCE_SHA_PROPERTY = "CRPV source SHA-256"
"""Custom document property of a correction workbook: the SHA-256 of the return it shows."""
MAX_SHEET_NAME = 31  # UTF-16 code units, Excel's limit
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9]+")  # a run becomes "-" if it holds one, else "_"
_STEM_LENGTH = 80
_HASH_SEPARATOR = "--"  # never produced by _safe_part: a hashed name never equals a plain one
_HASH_LENGTH = 10
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_RESERVED_SHEETS = ("history",)  # Excel keeps « History » for itself


def correction_file_name(result, key: str | None = None) -> str:
    """``corrections_<centre>_<year>_<stem>.xlsx``: ASCII letters, digits, ``_`` and ``-`` only.

    A return in a subfolder of the year folder keeps its folders, joined by ``__``
    (``Grand Est/bilan.xlsx`` → ``…_Grand_Est__bilan--<hash>.xlsx``). The original stem is kept
    as it is when it is already such a name (an ``.xlsx`` file at the top of the year folder);
    otherwise its readable ASCII form is followed by ``--`` and a short hash of the original
    name (or of ``key``, when given), so that ``Bilan 2021.xlsx``, ``Bilan_2021.xlsx`` and
    ``Bilan (2021).ods`` get three workbooks. The same file name gives the same workbook name
    on every run.
    """
    centre = _safe_part(result.centre_code or "") or "centre_inconnu"
    year = str(result.year) if result.year else "annee_inconnue"
    name = getattr(result, "relative_name", None) or Path(result.path).name
    relative = PurePosixPath(name)
    parts = [_safe_part(part) for part in (*relative.parent.parts, relative.stem)]
    stem = "__".join(p for p in parts if p)[:_STEM_LENGTH].strip("_-") or "bilan"
    if key is not None or name != f"{stem}.xlsx":
        original = os.fsencode(key if key is not None else name)
        stem += _HASH_SEPARATOR + hashlib.sha256(original).hexdigest()[:_HASH_LENGTH]
    return f"{CORRECTIONS_PREFIX}{centre}_{year}_{stem}.xlsx"


def _safe_part(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _UNSAFE_NAME.sub(lambda m: "-" if "-" in m[0] else "_", ascii_text).strip("_-")


def copy_sheet_names(names: Iterable[str], taken: Iterable[str] = ()) -> dict[str, str]:
    """Original sheet name → a name Excel accepts, unique among them and ``taken``.

    Excel wants at most 31 characters, none of ``[]:*?/\\``, no apostrophe first or last and
    names unique with case ignored (« History » is its own). A name already valid is kept;
    another is mended (forbidden characters become ``_``, cut to 31) and numbered ``(2)``,
    ``(3)``… if that name is taken. A name given twice maps once.
    """
    used = {_key(name) for name in taken} | set(_RESERVED_SHEETS)
    mapping: dict[str, str] = {}
    for name in names:
        if name in mapping:
            continue
        base = _mended(name)
        candidate, number = base, 1
        while _key(candidate) in used:
            number += 1
            suffix = f" ({number})"
            candidate = _cut(base, MAX_SHEET_NAME - len(suffix)).rstrip("'") + suffix
        used.add(_key(candidate))
        mapping[name] = candidate
    return mapping


def _mended(name: str) -> str:
    text = ILLEGAL_CHARACTERS_RE.sub("_", _SHEET_FORBIDDEN.sub("_", name))
    text = _cut(text, MAX_SHEET_NAME).strip("'")
    return text if text.strip() else "Feuille"


def _cut(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` UTF-16 code units (how Excel counts), never inside a pair."""
    out, used = [], 0
    for char in text:
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            break
        out.append(char)
    return "".join(out)


def _key(name: str) -> str:
    return name.casefold()


def made_for(path: Path, sha256: str | None) -> bool:
    """Whether ``path`` is a whole ``.xlsx`` written for the return of SHA-256 ``sha256``.

    Cheap: the zip's directory (at the end of the file: a truncated file has none), the
    presence of ``xl/workbook.xml`` and the small custom-properties part where the writer
    recorded the return's SHA-256. Anything else (a file cut short, empty, from an older run or
    another return) is not.
    """
    if not sha256:
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            if "xl/workbook.xml" not in archive.namelist():
                return False
            custom = archive.read("docProps/custom.xml")
    except (OSError, KeyError, zipfile.BadZipFile, EOFError, ValueError):
        return False
    return f">{sha256}<".encode() in custom
