"""Control characters in text from returns: removed where text is kept, escaped where shown.

Belongs here: which characters no warehouse or workbook can hold — NUL, which PostgreSQL
refuses, and the other C0 controls but tab, line feed and carriage return, with U+FFFE and
U+FFFF, which XML 1.0 forbids (openpyxl refuses them) — and removing them from a cell's text;
escaping text that came from a return (a cell, a sheet or file name) before it reaches a
terminal or a log line, so that it can neither move the cursor, retitle the window nor forge
a line (``\\x1b``, ``\\n`` are shown as such). Stays out: where cells are read (``reading``,
which removes them) and the finding that says so (``file_checks.removal_findings``). No import
of the package: every module may use it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
"""What a warehouse or a workbook cannot hold (XML 1.0 ``Char``; PostgreSQL refuses NUL)."""

_UNSHOWABLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufffe\uffff]"
)
"""What a terminal or a log reader may act on: every C0 and C1 control and DEL, line and
paragraph separators, and the bidirectional marks, embeddings, overrides and isolates that
reorder the text shown after them."""

_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


@dataclass(frozen=True)
class RemovedControls:
    """A cell whose text held characters that were removed (``remove_unstorable``).

    ``row`` is the Excel row (1-based), ``column`` the 0-based column; ``field`` is None for a
    cell of the Identification sheet; ``text`` is the cell as written, characters included.
    """

    sheet: str
    row: int
    column: int
    column_label: str | None
    field: str | None
    text: str


def has_unstorable(text: str) -> bool:
    """Whether ``text`` holds a character that no warehouse or workbook can hold."""
    return _UNSTORABLE.search(text) is not None


def remove_unstorable(text: str) -> str:
    """``text`` without the characters no warehouse or workbook can hold."""
    return _UNSTORABLE.sub("", text)


def unstorable_codes(text: str) -> str:
    """The distinct characters ``remove_unstorable`` removes from ``text``: ``U+0000, U+001B``."""
    found = sorted(set(_UNSTORABLE.findall(text)))
    return ", ".join(f"U+{ord(c):04X}" for c in found)


def _escape(match: re.Match[str]) -> str:
    char = match[0]
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_unstorable(text: str) -> str:
    """``text`` with the characters no warehouse can hold written out (``\\x00``), others kept.

    For text from a return that is stored as it came (a sheet name, a column label), so that
    it can be stored on every backend and still says what was there.
    """
    return _UNSTORABLE.sub(_escape, text) if _UNSTORABLE.search(text) else text


def escape_controls(text: object) -> str:
    """``text`` as it may be printed on a terminal or a log line: controls written out.

    ``"\\x1b[2J"`` → ``\\x1b[2J``, a line feed → ``\\n``, NUL → ``\\x00``; every other
    character, accents included, is kept as is.
    """
    text = str(text)
    return _UNSHOWABLE.sub(_escape, text) if _UNSHOWABLE.search(text) else text
