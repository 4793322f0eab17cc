"""The returns of a year's inbox folder: which entries count, and the name each one goes by.

Belongs here: listing ``<inbox>/<year>/`` with its subfolders (``<year>/Grand Est/IREV.xlsx``),
what is left out (lock files ``~$…``, hidden files and folders ``.…``) and the name of a return
relative to its year folder, which people see. Every listing of the inbox goes through
``discover_returns``: the pipeline, the sensor's change detection (``arrivals``) and
``crpv validate`` on a folder, so they all see the same returns; ``year_folder`` is the one place
``<inbox>/<year>`` is composed, and ``inbox_files`` describes each return (size, date, SHA-256)
as the run and its assets see it. Stays out: opening files (``reading``, ``file_guards``),
deciding what changed (``arrivals``), validating.

Symbolic links are listed, never followed (not even into a folder): the guards then refuse each
with a finding that names it. A subfolder that cannot be listed is listed itself, so that it too
gets a finding (an unreadable file) instead of its centre silently showing as missing.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from crpv_pipeline.intake.reading import file_sha256
from crpv_pipeline.model import display_name

IGNORED_PREFIXES = ("~$", ".")
"""Names of files left out: editor lock files and hidden files (hidden folders too: ``.``)."""


def discover_returns(folder: Path) -> list[Path]:
    """The returns in one year's inbox folder and its subfolders, sorted by relative path.

    Regular files and symbolic links (to anything) are returns; lock and hidden files, hidden
    folders and other kinds of entries (pipes, sockets) are left out. A folder that does not
    exist holds none. Raises ``OSError`` when ``folder`` itself cannot be listed.
    """
    if not folder.is_dir():
        return []
    found: list[Path] = []

    def unlisted(err: OSError) -> None:
        if err.filename is None or Path(err.filename) == folder:
            raise err
        found.append(Path(err.filename))  # a subfolder it cannot list: a finding, not silence

    for top, folders, files in os.walk(folder, onerror=unlisted, followlinks=False):
        base = Path(top)
        kept = []
        for name in folders:
            if name.startswith("."):
                continue
            if (base / name).is_symlink():
                found.append(base / name)  # refused by the guards, never walked into
            else:
                kept.append(name)
        folders[:] = kept
        found.extend(base / name for name in files if _is_return(base / name))
    return sorted(found, key=lambda p: PurePosixPath(p.relative_to(folder)).parts)


def _is_return(path: Path) -> bool:
    if path.name.startswith(IGNORED_PREFIXES):
        return False
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:  # removed while listing
        return False
    return stat.S_ISREG(mode) or stat.S_ISLNK(mode)


def relative_name(path: Path, folder: Path) -> str:
    """The name people see of a return of ``folder``: ``Grand Est/IREV.xlsx``, or ``IREV.xlsx``.

    Its path relative to the year folder, ``/``-separated; bytes that are not UTF-8 become �
    and control characters are spelled out (``display_name``). A path outside ``folder`` goes
    by its own name.
    """
    try:
        relative = path.relative_to(folder)
    except ValueError:
        return display_name(path)
    return "/".join(display_name(Path(part)) for part in relative.parts)


def year_folder(inbox: Path | str, year: int) -> Path:
    """``<inbox>/<year>``, the folder of ``year``'s returns: the one place it is composed."""
    return Path(inbox) / str(year)


@dataclass(frozen=True)
class InboxFile:
    """A return found in a year's inbox folder."""

    path: Path
    size: int
    received_at: dt.datetime
    """The file's modification time, in UTC: when the return reached the inbox."""
    sha256: str | None = None
    """SHA-256 of the file's bytes (None when it cannot be read)."""
    relative_name: str | None = None
    """Its path relative to the year folder, as people see it (``Grand Est/IREV.xlsx``)."""

    @property
    def file_name(self) -> str:
        """The name the return goes by: its path relative to the year folder."""
        return self.relative_name or display_name(self.path)


def sha256_or_none(path: Path) -> str | None:
    try:
        return file_sha256(path)
    except OSError:
        return None


def inbox_files(inbox: Path, year: int) -> list[InboxFile]:
    """The returns of ``<inbox>/<year>/`` and its subfolders (``inbox.discover_returns``).

    A symbolic link is described by itself (its size, its date), never by what it points to.
    """
    folder = year_folder(inbox, year)
    files = []
    for path in discover_returns(folder):
        stat = path.lstat()
        received = _utc(stat.st_mtime)
        files.append(
            InboxFile(
                path=path,
                size=stat.st_size,
                received_at=received,
                sha256=sha256_or_none(path),
                relative_name=relative_name(path, folder),
            )
        )
    return files


def received_at(path: Path) -> dt.datetime | None:
    """When the return at ``path`` reached the inbox, as ``inbox_files`` says (None: unreadable).

    Its own modification time (a link's, never its target's), in naive UTC.
    """
    try:
        return _utc(path.lstat().st_mtime)
    except OSError:
        return None


def _utc(timestamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, tz=dt.UTC).replace(tzinfo=None)


def inbox_bytes(inbox: Path, year: int) -> int:
    """Bytes of the returns in ``<inbox>/<year>/`` (what ``inbox_files`` lists), not hashed."""
    return sum(file_size(path) for path in discover_returns(year_folder(inbox, year)))


def file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
