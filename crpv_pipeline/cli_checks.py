"""Checks of the ``crpv`` command's arguments, done before any work: a mistake costs one line.

Belongs here: whether an output place can be written (a folder, or a file in a folder), which
files ``crpv validate`` is given (folders expanded as the pipeline lists them, editor lock files
and hidden files left out), whether a warehouse URL can be opened, and the section of
``crpv --help`` listing the environment variables (``settings.ENVIRONMENT``), and the exit codes
and ``CliError`` the commands share. Stays out: turning an error into ``Error: …`` and its exit
code (``cli``), what the commands do. Nothing
heavy is imported at module level, so ``crpv validate`` stays fast.
"""

from __future__ import annotations

import sys
import tempfile
import textwrap
from pathlib import Path

from crpv_pipeline.settings import ENVIRONMENT, TEST_ONLY_VARIABLES

__all__ = ["ENVIRONMENT", "TEST_ONLY_VARIABLES", "UsageError", "environment_help"]


EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_FAILURE = 0, 1, 2, 3


class CliError(Exception):
    """An expected failure, shown as ``Error: …`` with its exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILURE):
        super().__init__(message)
        self.code = code


def say(text: str) -> None:
    """A line for people, on standard error (standard output carries the results)."""
    print(text, file=sys.stderr, flush=True)


class UsageError(Exception):
    """A mistake in the command line or its environment (exit 2), said in one line."""


def environment_help() -> str:
    """The ``environment:`` section of ``crpv --help``: each variable, what it sets, its default."""
    lines = ["environment (default in brackets):"]
    for setting in ENVIRONMENT:
        lines.append(f"  {setting.name}")
        lines.extend(
            textwrap.wrap(
                f"{setting.what} [{setting.default}]",
                width=78,
                initial_indent=" " * 6,
                subsequent_indent=" " * 6,
            )
        )
    return "\n".join(lines)


def _probe(folder: Path) -> None:
    """Create and remove a file in ``folder``: the only test of writing that holds for root."""
    with tempfile.TemporaryFile(dir=folder, prefix=".crpv-probe-"):
        pass


def writable_folder(path: Path, option: str) -> None:
    """``path`` is a folder that can be written, or one that can be created (it is not yet)."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"{option} {path}: {existing} is a file, not a folder")
    try:
        _probe(existing)
    except OSError as err:
        raise UsageError(f"{option} {path}: cannot write in {existing} ({err.strerror})") from err


def writable_file(path: Path, option: str) -> None:
    """``path`` can be written as a file: its folder exists and can be written in."""
    if path.is_dir():
        raise UsageError(f"{option} {path}: is a folder, not a file")
    if not path.parent.is_dir():
        raise UsageError(f"{option} {path}: no such folder: {path.parent}")
    try:
        _probe(path.parent)
    except OSError as err:
        raise UsageError(
            f"{option} {path}: cannot write in {path.parent} ({err.strerror})"
        ) from err


def write_failed(path: Path, option: str, err: OSError) -> UsageError:
    """The ``UsageError`` for a write that failed after the checks (a race, a full disk…)."""
    return UsageError(f"{option} {path}: cannot write it ({err.strerror or err})")


def openable_warehouse(url: str) -> None:
    """The URL is one the pipeline can open (a number for a port, an existing SQLite folder).

    Nothing is connected to: a server that does not answer is the run's failure, not a usage
    error.
    """
    from crpv_pipeline.warehouse.engine import WarehouseError, create_warehouse_engine

    try:
        create_warehouse_engine(url).dispose()
    except WarehouseError as err:
        raise UsageError(str(err)) from err


def returns_to_validate(names: list[str]) -> tuple[list[Path], list[str]]:
    """The files to validate, and a note per file left out.

    A folder stands for the returns the pipeline would read in it (``inbox.discover_returns``);
    an editor lock file (``~$…``) or a hidden file named explicitly is left out, as the pipeline
    leaves it out, with a note. A name that is neither a file nor a folder is a ``UsageError``.
    """
    from crpv_pipeline.intake.inbox import discover_returns

    missing = [n for n in names if not Path(n).exists()]
    if missing:
        raise UsageError(f"no such file: {', '.join(missing)}")
    files: list[Path] = []
    notes: list[str] = []
    for name in names:
        path = Path(name)
        if path.is_dir():
            found = discover_returns(path)
            if not found:
                notes.append(f"{path}: no returns in this folder")
            files.extend(found)
        elif path.name.startswith(("~$", ".")):
            notes.append(
                f"{path}: skipped, an editor lock file or hidden file (the pipeline skips it)"
            )
        else:
            files.append(path)
    if not files:
        raise UsageError(f"no returns to validate in {', '.join(names)}")
    return files, notes
