"""Every file the pipeline writes appears whole or not at all: ``atomic_output``.

A writer (XlsxWriter, openpyxl, ``write_text``) writes to a temporary file beside the final one
(same folder, so same file system); only once it is complete and flushed to disk does
``os.replace`` put it in place, in one step. A process killed meanwhile leaves the previous
file, or none, and at worst a hidden ``.…crpv-tmp`` file that ``remove_leftovers`` clears; a
writer that fails leaves nothing. New bytes equal to the file's are not put in place: the file
is left as it is (same inode, same modification time), so that a run where nothing changed
touches no file. Belongs here: the temporary name, the comparison, the rename, the clean-up,
and moving a file people changed out of the way under a new name (``move_aside``).
Stays out: what is written (the callers' writers). No other module of ``crpv_pipeline`` may open
a final path for writing (``test_atomic`` checks the source).
"""

from __future__ import annotations

import filecmp
import logging
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

TEMP_SUFFIX = ".crpv-tmp"
"""Every temporary file ends with this: ``.<final name>.<pid>-<random>.crpv-tmp``."""
_MAX_NAME = 255  # bytes in a file name on common file systems
_LOG = logging.getLogger(__name__)


@contextmanager
def atomic_output(final: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; write it in the block, then it replaces ``final``.

    The folder is created if needed. On leaving the block normally the temporary file is
    flushed to disk and renamed onto ``final`` (``os.replace``: readers see the old file or the
    new one, never a part), unless ``final`` already holds the same bytes: then the temporary
    file is removed and ``final`` left untouched (logged: « unchanged, left as is »). On any
    exception, or a writer that wrote nothing, the temporary file is removed and ``final`` is
    left as it was.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    token = f"{os.getpid()}-{secrets.token_hex(4)}{TEMP_SUFFIX}"
    name = f".{final.name}.{token}"
    if len(os.fsencode(name)) > _MAX_NAME:
        name = f".crpv.{token}"
    temp = final.with_name(name)
    try:
        yield temp
        if _same_bytes(temp, final):
            temp.unlink()
            _LOG.info("%s: unchanged, left as is", final)
            return
        _flush_to_disk(temp)
        os.replace(temp, final)
    except BaseException:
        with suppress(OSError):
            temp.unlink(missing_ok=True)
        raise


def write_text(final: Path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``final`` atomically and return ``final``."""
    with atomic_output(final) as temp:
        temp.write_text(text, encoding=encoding)
    return Path(final)


def write_bytes(final: Path, data: bytes) -> Path:
    """Write ``data`` to ``final`` atomically and return ``final``."""
    with atomic_output(final) as temp:
        temp.write_bytes(data)
    return Path(final)


def move_aside(path: Path, stem: str) -> Path:
    """Rename ``path`` to ``<stem><its suffix>`` beside it, never over another file; the new path.

    When that name is taken, `` (2)``, `` (3)``… follow the stem. The file keeps its bytes and
    its inode: a hard link under the new name, then the old name removed (a rename where the
    file system has no links).
    """
    path = Path(path)
    number = 1
    while True:
        aside = path.with_name(f"{stem}{f' ({number})' if number > 1 else ''}{path.suffix}")
        try:
            os.link(path, aside)  # fails if the name is taken: nothing is ever replaced
        except FileExistsError:
            number += 1
            continue
        except OSError:  # no hard links here
            if aside.exists():
                number += 1
                continue
            os.rename(path, aside)
            return aside
        path.unlink()
        return aside


def remove_leftovers(folder: Path) -> list[Path]:
    """Remove the temporary files that killed processes left in ``folder``; return them.

    A temporary file whose writer (named by the process id in its name) is still running is
    kept: it is a write in progress (a reused process id only delays the clean-up).
    """
    removed = []
    if not folder.is_dir():
        return removed
    for path in folder.glob(f".*{TEMP_SUFFIX}"):
        pid = path.name.removesuffix(TEMP_SUFFIX).rsplit(".", 1)[-1].split("-")[0]
        if pid.isdigit() and _running(int(pid)):
            continue
        with suppress(OSError):
            path.unlink()
            removed.append(path)
    return removed


def _same_bytes(temp: Path, final: Path) -> bool:
    """Whether ``final`` is a regular file holding the bytes of ``temp``.

    Raises FileNotFoundError when there is no ``temp``: the writer wrote nothing.
    """
    size = temp.stat().st_size
    try:
        if not final.is_file() or final.stat().st_size != size:
            return False
        return filecmp.cmp(temp, final, shallow=False)
    except OSError:  # unreadable: written again
        return False


def _flush_to_disk(path: Path) -> None:
    """Make ``path``'s bytes durable before the rename (FileNotFoundError: nothing written)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _running(pid: int) -> bool:
    if os.name == "nt":  # os.kill would end the process there: keep the file
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True
