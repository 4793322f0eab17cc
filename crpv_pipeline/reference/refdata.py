"""Reference lists (nomenclature v1) and the loose label matching of contract §1.3.

Everything a data steward may edit lives in CSV files under ``crpv_pipeline/reference/data``; this
module only reads them and answers "which entry is this label?". It holds no list of its own and
never touches the warehouse or the file system beyond those CSV files.
"""

from __future__ import annotations

import csv
import hashlib
import io
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

from crpv_pipeline import settings
from crpv_pipeline.settings import REFERENCE_DIR as REFERENCE_DIR_VARIABLE

REFERENCE_FILES = (
    "activity_types.csv",
    "modalities.csv",
    "themes.csv",
    "publics.csv",
    "centres.csv",
    "columns.csv",
    "identification.csv",
    "rules.csv",
    "plausibility.csv",
)

# Hyphens, underscores and apostrophes (straight or curly) read as spaces (§1.3).
_AS_SPACE_CHARS = "-_'\u2010\u2011\u2012\u2013\u2014\u2018\u2019\u02bc\u00b4`"
# Zero-width characters count as white space (§1.3); NFKC already maps non-breaking spaces.
_ZERO_WIDTH_CHARS = "\u200b\u200c\u200d\u2060\ufeff"
# Every other invisible character is dropped: format characters (Unicode category Cf: LRM,
# RLM, soft hyphen…) and control characters that are not white space (NUL, ESC…).
_INVISIBLE_CATEGORIES = ("Cf", "Cc")
_ASCII_AS_SPACE = str.maketrans(
    {c: " " for c in _AS_SPACE_CHARS if c.isascii()}
    | {
        chr(code): None
        for code in range(128)
        if unicodedata.category(chr(code)) in _INVISIBLE_CATEGORIES and not chr(code).isspace()
    }
)


class _FoldTable(dict):
    """``str.translate`` table: marks and invisible characters dropped, separators as spaces.

    §1.3 separators, zero-width spaces among them, read as spaces.

    Filled as characters are met (``__missing__``), so no table of all of Unicode is built.
    """

    def __missing__(self, code: int) -> int | None:
        char = chr(code)
        if char in _AS_SPACE_CHARS or char in _ZERO_WIDTH_CHARS:
            value: int | None = 32
        elif unicodedata.combining(char):
            value = None
        elif unicodedata.category(char) in _INVISIBLE_CATEGORIES and not char.isspace():
            value = None
        else:
            value = code
        self[code] = value
        return value


_FOLD = _FoldTable()


class _KeyTable(dict):
    """``str.translate`` table giving each character its comparison key (§1.3).

    Every step of ``normalize_label`` but the collapsing of spaces works character by
    character (a compatibility decomposition, dropping marks, casefolding), so a label's key is
    its characters' keys put together; each is computed once, when first met.
    """

    def __missing__(self, code: int) -> str:
        value = unicodedata.normalize("NFKD", chr(code)).translate(_FOLD).casefold()
        self[code] = value
        return value


_KEYS = _KeyTable()


def normalize_label(text: object) -> str:
    """Return the comparison key of a label: no accents, casefolded, spaces collapsed.

    The steps of contract §1.3: compatibility decomposition (NFKD, which is NFKC followed by
    the canonical decomposition that exposes accents), combining marks dropped, separators read
    as spaces, casefolding, collapsed spaces; and every other invisible character dropped
    (format characters such as a left-to-right mark or a soft hyphen, control characters).
    All but the collapsing of spaces work character by character and are memoised per
    character (``_KeyTable``); pure ASCII text, the common case, needs less.
    """
    s = text if isinstance(text, str) else str(text)
    if s.isascii():
        return " ".join(s.casefold().translate(_ASCII_AS_SPACE).split())
    return " ".join(s.translate(_KEYS).split())


@dataclass(frozen=True)
class Entry:
    """One reference entry: a stable code, the French label shown to people, its synonyms."""

    code: str
    label: str
    plural: bool = False
    synonyms: tuple[str, ...] = ()
    attrs: Mapping[str, str] = field(default_factory=dict)


class ReferenceList:
    """An ordered reference list whose entries are found by loose label matching."""

    def __init__(self, name: str, entries: Iterable[Entry]):
        self.name = name
        self.entries: tuple[Entry, ...] = tuple(entries)
        self._by_key: dict[str, Entry] = {}
        self._matched: dict[tuple[type, object], Entry | None] = {}  # values seen, their entry
        for entry in self.entries:
            for text in (entry.code, entry.label, *entry.synonyms):
                key = normalize_label(text)
                other = self._by_key.setdefault(key, entry)
                if other is not entry:
                    raise ValueError(
                        f"{name}: '{text}' is used by both {other.code} and {entry.code}"
                    )

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def match(self, value: object) -> Entry | None:
        """The entry whose code, label or synonym matches ``value`` loosely, or None."""
        if value is None:
            return None
        memo = (type(value), value)  # 1, 1.0 and True are different labels
        try:
            return self._matched[memo]
        except KeyError:
            entry = self._matched[memo] = self._match(value)
            return entry
        except TypeError:  # an unhashable value
            return self._match(value)

    def _match(self, value: object) -> Entry | None:
        key = normalize_label(value)
        entry = self._by_key.get(key)
        if entry is None and key.endswith("s"):
            singular = self._by_key.get(key[:-1])
            if singular is not None and singular.plural:
                entry = singular
        return entry

    def get(self, code: str) -> Entry:
        for entry in self.entries:
            if entry.code == code:
                return entry
        raise KeyError(f"{self.name}: no entry with code {code!r}")

    def labels(self) -> list[str]:
        return [e.label for e in self.entries]

    def allowed_text(self) -> str:
        """The allowed labels as French text: « A », « B » ou « C »."""
        quoted = [f"« {label} »" for label in self.labels()]
        return ", ".join(quoted[:-1]) + " ou " + quoted[-1] if len(quoted) > 1 else quoted[0]


@dataclass(frozen=True)
class ColumnSpec:
    """A column of the ``Activités`` sheet (contract §1)."""

    field: str
    label: str
    required: bool
    synonyms: tuple[str, ...]
    help: str


@dataclass(frozen=True)
class Rule:
    """A validation rule: its id, level (file or row), severity, French label and message template.

    The label is what people read in place of the id (« Demi-journées hors limites »).
    """

    rule: str
    level: str
    severity: str
    message: str
    label: str


@dataclass(frozen=True)
class Threshold:
    """The threshold of a plausibility rule and the smallest base it is judged on."""

    rule: str
    threshold: float
    minimum: float


@dataclass(frozen=True)
class Nomenclature:
    """All reference data of one version, as read from the CSV files."""

    activity_types: ReferenceList
    modalities: ReferenceList
    themes: ReferenceList
    publics: ReferenceList
    centres: ReferenceList
    identification: ReferenceList
    columns: tuple[ColumnSpec, ...]
    rules: Mapping[str, Rule]
    version: str
    plausibility: Mapping[str, Threshold] = field(default_factory=dict)
    """The thresholds of the plausibility rules (``plausibility.csv``), by rule id."""

    @property
    def column_list(self) -> ReferenceList:
        """The ``Activités`` column labels as a matchable list (code = field name)."""
        return ReferenceList(
            "columns",
            (Entry(c.field, c.label, True, c.synonyms) for c in self.columns),
        )

    def category(self, field_name: str) -> ReferenceList:
        """The reference list behind a category field of the ``Activités`` sheet."""
        return {
            "activity_type": self.activity_types,
            "modality": self.modalities,
            "theme": self.themes,
            "publics": self.publics,
        }[field_name]

    def expected_centres(self, year: int) -> list[Entry]:
        """Centres expected to report for ``year`` (their active_from/active_to span it)."""
        out = []
        for centre in self.centres:
            start = int(centre.attrs.get("active_from") or 0)
            end = int(centre.attrs.get("active_to") or 9999)
            if start <= year <= end:
                out.append(centre)
        return out

    def message(self, rule: str, **context: object) -> str:
        """The French message of ``rule`` filled with ``context``."""
        return self.rules[rule].message.format_map(_Blank(context))

    def severity(self, rule: str) -> str:
        return self.rules[rule].severity

    def rule_label(self, rule: str) -> str:
        """The French label of ``rule`` for people, its id when the rule is not listed."""
        entry = self.rules.get(rule)
        return entry.label if entry is not None else rule


class _Blank(dict):
    """Format context in which a placeholder with no value renders empty."""

    def __missing__(self, key: str) -> str:
        return ""


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(s.strip() for s in (text or "").split("|") if s.strip())


def _entries(rows: list[dict[str, str]], label_key: str = "label") -> list[Entry]:
    core = {"code", label_key, "plural", "synonyms"}
    return [
        Entry(
            code=row["code"].strip(),
            label=row[label_key].strip(),
            plural=(row.get("plural") or "").strip().lower() in {"yes", "oui", "true", "1"},
            synonyms=_split(row.get("synonyms")),
            attrs={k: (v or "").strip() for k, v in row.items() if k not in core},
        )
        for row in rows
    ]


"""Environment variable naming a folder of reference CSV files that replace the packaged ones."""


def _read_texts(directory: Path | None) -> dict[str, str]:
    """Each reference file's text: from ``directory`` where it holds the file, else packaged."""
    base = resources.files("crpv_pipeline.reference") / "data"
    texts = {}
    for name in REFERENCE_FILES:
        local = directory / name if directory is not None else None
        source = local if local is not None and local.is_file() else base / name
        texts[name] = source.read_text(encoding="utf-8")
    return texts


def load_nomenclature(directory: Path | None = None) -> Nomenclature:
    """Read the reference CSV files: those of ``directory`` where present, else the packaged ones.

    A folder holding only ``centres.csv`` thus changes the centres and keeps every other list.
    The version (a digest of every file's text) changes with any of them.
    """
    texts = _read_texts(directory)
    tables = {name: list(csv.DictReader(io.StringIO(text))) for name, text in texts.items()}
    digest = hashlib.sha256()
    for name in REFERENCE_FILES:
        digest.update(name.encode() + b"\0" + texts[name].encode("utf-8"))
    centres = [
        Entry(e.code, e.label, False, e.synonyms, e.attrs)
        for e in _entries(tables["centres.csv"], label_key="name")
    ]
    return Nomenclature(
        activity_types=ReferenceList("activity_types", _entries(tables["activity_types.csv"])),
        modalities=ReferenceList("modalities", _entries(tables["modalities.csv"])),
        themes=ReferenceList("themes", _entries(tables["themes.csv"])),
        publics=ReferenceList("publics", _entries(tables["publics.csv"])),
        centres=ReferenceList("centres", centres),
        identification=ReferenceList(
            "identification",
            (
                Entry(
                    r["field"], r["label"], True, _split(r["synonyms"]), {"required": r["required"]}
                )
                for r in tables["identification.csv"]
            ),
        ),
        columns=tuple(
            ColumnSpec(
                field=r["field"],
                label=r["label"],
                required=r["required"].strip().lower() == "yes",
                synonyms=_split(r["synonyms"]),
                help=r["help"],
            )
            for r in tables["columns.csv"]
        ),
        rules={
            r["rule"]: Rule(r["rule"], r["level"], r["severity"], r["message"], r["label"])
            for r in tables["rules.csv"]
        },
        version=digest.hexdigest()[:12],
        plausibility={
            r["rule"]: Threshold(r["rule"], float(r["threshold"]), float(r["minimum"]))
            for r in tables["plausibility.csv"]
        },
    )


def default_nomenclature() -> Nomenclature:
    """The reference data in force, read once per process.

    The packaged lists, unless ``CRPV_REFERENCE_DIR`` names a folder whose CSV files replace
    them (read when first asked for, never at import; see ``load_nomenclature``).
    """
    return _nomenclature_of(settings.reference_dir())


@cache
def _nomenclature_of(directory: str) -> Nomenclature:
    if directory and not Path(directory).expanduser().is_dir():
        raise FileNotFoundError(
            f"{REFERENCE_DIR_VARIABLE}={directory!r}: no such folder of reference CSV files"
        )
    return load_nomenclature(Path(directory).expanduser() if directory else None)
