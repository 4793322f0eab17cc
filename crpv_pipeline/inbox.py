"""The returns of a year's inbox folder: which entries count, and the name each one goes by.

Belongs here: listing ``<inbox>/<year>/`` with its subfolders (``<year>/Grand Est/IREV.xlsx``),
what is left out (lock files ``~$…``, hidden files and folders ``.…``) and the name of a return
relative to its year folder, which people see. Every listing of the inbox goes through
``discover_returns``: the pipeline, the sensor's change detection (``arrivals``) and
``crpv validate`` on a folder, so they all see the same returns. Stays out: opening or hashing
files (``reading``, ``file_guards``), deciding what changed (``arrivals``), validating.

Symbolic links are listed, never followed (not even into a folder): the guards then refuse each
with a finding that names it. A subfolder that cannot be listed is listed itself, so that it too
gets a finding (an unreadable file) instead of its centre silently showing as missing.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath

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
