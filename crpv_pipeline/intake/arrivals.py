"""Arrivals in the inbox: which years' returns changed since a run was last requested for them.

Belongs here: looking at each ``<inbox>/<year>/`` folder and its subfolders (lock and hidden
files left out, links never followed: ``inbox.discover_returns``, as the pipeline lists them),
waiting while a file is still being copied, naming the state of a year's folder by the set of
its files' SHA-256, and the small cursor that remembers, per year, what was seen at the last
look and which state a run was last requested for. Stays out:
Dagster (the sensor in ``sensors`` turns these decisions into run requests), reading or
validating returns, and the warehouse.

A year's folder is *settled* when the path, size and modification time of every file are the
same as at the previous look; only then are its files hashed. A run is requested when the
digest of the set of hashes differs from the one last requested for that year: a copied file
(same bytes) requests nothing, a re-saved one (new bytes) does, and so does a file removed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from crpv_pipeline.intake.inbox import discover_returns, relative_name
from crpv_pipeline.intake.inbox import year_folder as inbox_folder
from crpv_pipeline.intake.reading import file_sha256

CURSOR_VERSION = 1
DIGEST_LENGTH = 16
"""Hex digits kept of a digest: 64 bits, plenty to tell a year's successive states apart."""


@dataclass(frozen=True)
class YearMark:
    """What the cursor remembers of one year's folder.

    ``listing`` names the files as last seen (name, size, modification time), ``requested`` the
    set of hashes of the last run requested ("" before the first), ``runs`` how many runs were
    requested for the year (it makes each run key new, even when an older state comes back).
    """

    listing: str
    requested: str = ""
    runs: int = 0


@dataclass(frozen=True)
class Arrival:
    """A year whose returns changed: a run of its partition is due."""

    year: int
    inbox_digest: str
    sequence: int
    files: tuple[str, ...]

    @property
    def run_key(self) -> str:
        """Unique per year and state: ``<year>-<sequence>-<digest of the set of hashes>``."""
        return f"{self.year}-{self.sequence}-{self.inbox_digest}"


@dataclass(frozen=True)
class InboxCheck:
    """The outcome of one look at the inbox: runs due, years still settling, the next cursor.

    ``inbox`` is the folder looked at, absolute, as people need it to find what went wrong;
    ``inbox_found`` says whether it exists.
    """

    arrivals: list[Arrival]
    settling: list[int]
    cursor: str
    unchanged: list[int] = field(default_factory=list)
    inbox: Path | None = None
    inbox_found: bool = True

    def summary(self) -> str:
        """One line for a tick that requests nothing, naming the inbox it looked in."""
        if not self.inbox_found:
            return f"the inbox {self.inbox} does not exist (CRPV_INBOX)"
        parts = []
        if self.settling:
            years = ", ".join(map(str, self.settling))
            parts.append(f"waiting for files still arriving in {years}")
        if self.unchanged:
            parts.append(f"no change in {', '.join(map(str, self.unchanged))}")
        where = f" in {self.inbox}" if self.inbox is not None else ""
        if not parts:
            return f"no year folder with returns{where}"
        return "; ".join(parts) + (f" (inbox {self.inbox})" if self.inbox is not None else "")


class NoYearFolder(FileNotFoundError):
    """A run of a year whose inbox folder does not exist: nothing to read, the inbox is wrong."""


def year_folder(inbox: Path, year: int) -> Path:
    """The absolute folder of ``year``'s returns: ``<inbox>/<year>``."""
    return inbox_folder(inbox, year).expanduser().absolute()


def no_year_folder(folder: Path, year: int) -> str:
    """Why a run of ``year`` stops when its inbox folder does not exist."""
    return (
        f"no inbox folder for {year}: {folder} does not exist; returns go in <inbox>/{year}/ "
        "(check CRPV_INBOX, or --inbox)"
    )


def empty_year_folder(folder: Path) -> str:
    """Why a year with an inbox folder but no return in it is flagged."""
    return f"no return in {folder}: nothing was read (lock and hidden files are ignored)"


def _digest(lines: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()[:DIGEST_LENGTH]


def parse_cursor(cursor: str | None) -> dict[int, YearMark]:
    """The marks of a cursor written by ``dump_cursor``; an empty or foreign cursor is empty."""
    if not cursor:
        return {}
    try:
        data = json.loads(cursor)
        if data.get("v") != CURSOR_VERSION:
            return {}
        return {int(y): YearMark(*mark) for y, mark in data["years"].items()}
    except (ValueError, TypeError, KeyError, AttributeError):
        return {}


def dump_cursor(marks: dict[int, YearMark]) -> str:
    """The cursor: a few dozen bytes per year folder, never a list of files."""
    years = {str(y): [m.listing, m.requested, m.runs] for y, m in sorted(marks.items())}
    return json.dumps({"v": CURSOR_VERSION, "years": years}, separators=(",", ":"))


def _listing(folder: Path, files: list[Path]) -> str | None:
    """Digest of the folder as seen now; None when a file vanished while looking.

    Each file counts by its path in the folder, size and modification time; a link by its own.
    """
    try:
        stats = [(relative_name(p, folder), p.lstat()) for p in files]
    except FileNotFoundError:
        return None
    return _digest(f"{name}\t{st.st_size}\t{st.st_mtime_ns}" for name, st in stats)


def _content_digest(files: list[Path]) -> str | None:
    """Digest of the set of the files' SHA-256 (names play no part); None if one vanished.

    A file that cannot be read counts by its name and size, so that it still requests a run
    (whose validation rejects it as unreadable).
    """
    hashes = []
    for path in files:
        try:
            hashes.append(file_sha256(path))
        except FileNotFoundError:
            return None
        except OSError:
            hashes.append(f"unreadable:{path.name}:{path.lstat().st_size}")
    return _digest(sorted(hashes))


def check_inbox(inbox: Path, years: Iterable[int | str], cursor: str | None) -> InboxCheck:
    """Look at every year folder of ``inbox`` (among ``years``) and decide which need a run.

    ``cursor`` is the value returned by the previous look (None the first time). A folder seen
    for the first time, or whose listing changed since the previous look, is *settling*: it is
    looked at again at the next tick, so that a file still being copied is not read half-way.
    A year that had returns and whose folder is gone is forgotten, with no run.
    """
    wanted = {int(y) for y in years}
    marks = parse_cursor(cursor)
    present = {
        int(p.name)
        for p in (inbox.iterdir() if inbox.is_dir() else [])
        if p.is_dir() and p.name.isdigit() and int(p.name) in wanted
    }
    arrivals: list[Arrival] = []
    settling: list[int] = []
    unchanged: list[int] = []
    new_marks: dict[int, YearMark] = {}
    for year in sorted(present):
        folder = inbox_folder(inbox, year)
        files = discover_returns(folder)
        previous = marks.get(year)
        if not files and previous is None:
            continue  # an empty folder that never held a return: nothing to do
        previous = previous or YearMark(listing="")
        listing = _listing(folder, files)
        if listing is None or not previous.listing or previous.listing != listing:
            new_marks[year] = YearMark(listing or "", previous.requested, previous.runs)
            settling.append(year)
            continue
        content = _content_digest(files)
        if content is None:
            new_marks[year] = YearMark("", previous.requested, previous.runs)
            settling.append(year)
        elif content == previous.requested:
            new_marks[year] = previous
            unchanged.append(year)
        else:
            sequence = previous.runs + 1
            new_marks[year] = YearMark(listing, content, sequence)
            names = tuple(relative_name(p, folder) for p in files)
            arrivals.append(Arrival(year, content, sequence, names))
    return InboxCheck(
        arrivals, settling, dump_cursor(new_marks), unchanged, inbox.absolute(), inbox.is_dir()
    )
