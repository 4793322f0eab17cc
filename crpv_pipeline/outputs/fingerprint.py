"""Outputs left as they are when nothing they are made from changed: ``refresh``.

An output for people (the bilan's page and workbook, the stewards' overview) is made from what
its writer is given, read from the warehouse, and from the code that lays it out.
``inputs_fingerprint`` digests both: the inputs as plain values (tables, rows, dates, sentinels:
the same data give the same digest, whatever process reads them) and the code (every file of
this package, the reference lists in force, the versions of the libraries that write the
bytes). ``refresh`` calls a writer only when one of its files is missing, holds other bytes than
were written (then it is kept aside first: ``set_aside_edited``), or was written from other
inputs; each folder records, in ``.crpv-outputs.json``
(through the atomic writer), each output's fingerprint and the SHA-256 of the bytes written. A
record lost or out of date only costs a rewrite, never a file left stale.

Belongs here: the digests and the record. Stays out: what an output holds (its writer), which
outputs a run asks for (``year``, the assets).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import platform
from collections.abc import Callable, Sequence
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

import crpv_pipeline
from crpv_pipeline.atomic import move_aside, write_text
from crpv_pipeline.reference.refdata import default_nomenclature

__all__ = ["RECORD_NAME", "inputs_fingerprint", "refresh", "set_aside_edited"]

_LOG = logging.getLogger(__name__)
_PARIS = ZoneInfo("Europe/Paris")
RECORD_NAME = ".crpv-outputs.json"
"""The record of a folder's outputs: file name → fingerprint of its inputs, SHA-256 of its bytes."""
_RECORD_FORMAT = 1
_LIBRARIES = ("matplotlib", "XlsxWriter", "openpyxl", "pandas")
"""Libraries whose versions shape the bytes of an output."""


def inputs_fingerprint(*inputs: Any) -> str:
    """The SHA-256 (hex) of ``inputs`` as plain values and of the code that writes outputs."""
    code = [*_code(), default_nomenclature().version]  # the lists in force may change
    text = json.dumps([code, _plain(list(inputs))], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def refresh(
    paths: Sequence[Path],
    fingerprint: str,
    write: Callable[[], object],
    kept_aside: Callable[[Path, Path], object] | None = None,
) -> bool:
    """Call ``write`` (which writes ``paths``) unless they are already what it would write.

    They are when every one of them holds the bytes the record of its folder says were
    written for ``fingerprint``. Returns whether ``write`` was called (False: left as is). A
    file changed since it was written is kept aside first (``set_aside_edited``), and
    ``kept_aside(path, new path)`` told.
    """
    paths = [Path(p) for p in paths]
    if all(_up_to_date(p, _read_record(p.parent).get(p.name), fingerprint) for p in paths):
        return False
    for path, aside in set_aside_edited(paths):
        if kept_aside is not None:
            kept_aside(path, aside)
    write()
    for folder in {p.parent for p in paths}:
        record = _read_record(folder)  # read again: another output of the folder may be new
        for path in paths:
            if path.parent == folder and path.is_file():
                record[path.name] = {"inputs": fingerprint, "sha256": _sha256(path)}
        kept = {name: entry for name, entry in record.items() if (folder / name).is_file()}
        text = json.dumps({"format": _RECORD_FORMAT, "outputs": kept}, indent=1, sort_keys=True)
        write_text(folder / RECORD_NAME, text + "\n")
    return True


def set_aside_edited(paths: Sequence[Path]) -> list[tuple[Path, Path]]:
    """Rename each of ``paths`` edited since it was written out of the way; (path, new path).

    An output holds other bytes than its folder's record says were written when somebody
    changed it: a steward who filled the overview's « Décisions » in place. Written again, it
    would lose what they typed; it is kept beside, as « <name> (modifié le 2026-12-02 à
    06h15).xlsx » (when it was last changed, Paris time). An output whose record is missing is
    written over, as before records existed.
    """
    moved = []
    for path in map(Path, paths):
        entry = _read_record(path.parent).get(path.name)
        if not isinstance(entry, dict) or not entry.get("sha256") or not path.is_file():
            continue
        if _sha256(path) == entry["sha256"]:
            continue
        changed = dt.datetime.fromtimestamp(path.stat().st_mtime, _PARIS)
        aside = move_aside(path, f"{path.stem} (modifié le {changed:%Y-%m-%d à %Hh%M})")
        _LOG.warning("%s was changed since it was written: kept as %s", path, aside.name)
        moved.append((path, aside))
    return moved


def _up_to_date(path: Path, entry: Any, fingerprint: str) -> bool:
    if not isinstance(entry, dict) or entry.get("inputs") != fingerprint:
        return False
    try:
        return path.is_file() and _sha256(path) == entry.get("sha256")
    except OSError:
        return False


def _read_record(folder: Path) -> dict[str, Any]:
    """The folder's record; empty when there is none, or none this version can read."""
    try:
        record = json.loads((folder / RECORD_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(record, dict) or record.get("format") != _RECORD_FORMAT:
        return {}
    outputs = record.get("outputs")
    return dict(outputs) if isinstance(outputs, dict) else {}


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


@cache
def _code() -> list[str]:
    """What the outputs' code is: the package's files, Python, the libraries' versions."""
    digest = hashlib.sha256()
    root = Path(crpv_pipeline.__file__).parent
    files = (p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    for path in sorted(files, key=lambda p: p.relative_to(root).as_posix()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    libraries = [f"{name} {_version(name)}" for name in _LIBRARIES]
    return [digest.hexdigest(), platform.python_version(), *libraries]


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


_SIMPLE = frozenset({type(None), bool, int, float, str})
"""Types kept as they are: JSON says what they are (``1`` and ``1.0`` differ, NaN is ``NaN``)."""
_DATACLASS_FIELDS: dict[type, tuple[str, ...]] = {}
"""The field names of each dataclass met, in order."""


def _plain(value: Any) -> Any:
    """``value`` as JSON values that say what it is: two inputs equal as data are equal here.

    Sequences of simple values (most rows of a table) are taken as they are, without a call per
    value: a year's findings are tens of thousands of rows.
    """
    kind = type(value)
    if kind in _SIMPLE:
        return value
    if kind is list or kind is tuple:
        if all(type(v) in _SIMPLE for v in value):
            return list(value)
        return [_plain(v) for v in value]
    names = _DATACLASS_FIELDS.get(kind)
    if names is not None:
        return [kind.__qualname__, [[name, _plain(getattr(value, name))] for name in names]]
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return float(value)
    if isinstance(value, pd.DataFrame):  # column by column: a column's values share a type
        columns = [
            [str(c), str(t), _plain(value.iloc[:, i].tolist())]
            for i, (c, t) in enumerate(value.dtypes.items())
        ]
        return ["frame", columns]
    if isinstance(value, pd.Series):
        return ["series", str(value.name), str(value.dtype), _plain(value.tolist())]
    if isinstance(value, dict):
        return ["dict", [[_plain(k), _plain(v)] for k, v in value.items()]]
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return ["set", sorted(json.dumps(_plain(v), ensure_ascii=False) for v in value)]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        _DATACLASS_FIELDS[kind] = tuple(f.name for f in dataclasses.fields(value))
        return _plain(value)
    if isinstance(value, dt.date | dt.time):  # datetimes and pandas Timestamps (NaT included)
        return [type(value).__name__, value.isoformat()]
    if hasattr(value, "item") and hasattr(value, "dtype"):  # numpy scalars
        return _plain(value.item())
    if isinstance(value, Path):
        return ["path", str(value)]
    # Anything else by its repr: one that names a memory address never matches, which only
    # costs a rewrite.
    return [f"{type(value).__module__}.{type(value).__qualname__}", repr(value)]
