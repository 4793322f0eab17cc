"""Plain data passed between the stages: findings and the validated return of one file.

No behaviour beyond derived counts lives here; reading, validation and loading are elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from crpv_pipeline.intake.control_characters import escape_controls, escape_unstorable

if TYPE_CHECKING:
    from crpv_pipeline.intake.control_characters import RemovedControls


@dataclass(frozen=True)
class IdentificationValue:
    """One value of a return's Identification sheet, with where the centre wrote it."""

    value: Any
    """The cell's value as read (text cleaned of control characters), None when empty."""
    sheet: str
    row: int
    """Excel row number (1-based)."""


@dataclass(frozen=True)
class ActivityDiff:
    """A resubmission compared with the submission it replaces."""

    replaces: int
    added: int
    removed: int
    changed: int
    half_days_before: int
    half_days_after: int


class ReturnFileError(Exception):
    """A file-level problem (contract §4): the whole file is rejected.

    ``rule`` is a rule id of ``rules.csv``; ``context`` fills its French message; ``sheet``,
    ``row`` and ``column`` (0-based index) locate it when it has a place in the workbook.
    """

    def __init__(
        self,
        rule: str,
        *,
        sheet: str | None = None,
        row: int | None = None,
        column: int | None = None,
        column_label: str | None = None,
        value: object = None,
        **context: object,
    ):
        super().__init__(rule)
        self.rule = rule
        self.sheet = sheet
        self.row = row
        self.column = column
        self.column_label = column_label
        self.value = value
        self.context = context
        self.identification: dict[str, IdentificationValue] | None = None
        """Identification values read before the problem was found, if any."""
        self.removed_controls: list[RemovedControls] = []
        """Identification cells whose control characters were removed before the problem."""


ACTIVITY_COLUMNS = (
    "source_row",
    "source_sheet",
    "activity_date",
    "title",
    "activity_type_code",
    "modality_code",
    "theme_code",
    "half_days",
    "participants",
    "department",
    "partners",
    "comment",
    "public_codes",
)
"""Columns of ``ReturnResult.activities``: one row per activity that passed validation.

``activity_date`` is a ``datetime.date``; ``half_days`` an int; ``participants`` an int or None;
``public_codes`` a tuple of public codes (possibly empty); text fields are str or None.
``source_sheet`` and ``source_row`` say where the centre wrote it (a return may hold several
activity sheets: the row number alone does not).
"""


@dataclass(frozen=True)
class Finding:
    """One validation finding (contract §4), as stored in ``validation_failure``."""

    file_name: str
    sheet: str | None
    row_number: int | None
    cell: str | None
    column_label: str | None
    field: str | None
    value: str | None
    rule: str
    severity: str
    message: str

    def __post_init__(self) -> None:
        """Spell out (``\\x00``) the characters no warehouse or workbook holds.

        Text kept as the return wrote it (a sheet name, a column label) may hold them; cells
        lost them when read (``reading.clean_cell``). A finding is stored and shown everywhere.
        """
        for name in ("file_name", "sheet", "column_label", "value", "message"):
            text = getattr(self, name)
            if text is not None and (escaped := escape_unstorable(text)) is not text:
                object.__setattr__(self, name, escaped)

    @classmethod
    def of_file(cls, file_name: str, rule: str, severity: str, message: str) -> Finding:
        """A finding about the whole file: no sheet, cell, column or value."""
        return cls(file_name, None, None, None, None, None, None, rule, severity, message)

    @property
    def location(self) -> str:
        """Where a person finds it: ``Activités!D14``, the sheet, or the file."""
        if self.sheet and self.cell:
            return f"{self.sheet}!{self.cell}"
        if self.sheet and self.row_number:
            return f"{self.sheet}, ligne {self.row_number}"
        return self.sheet or self.file_name


FINDING_FIELDS = tuple(Finding.__dataclass_fields__)
"""The fields of a finding, in order: also the columns of ``validation_failure`` they fill."""


@dataclass
class ReturnResult:
    """A return (one file) after reading and validation, ready to load.

    ``status`` is ``loaded``, ``loaded_with_errors`` or ``rejected`` (contract §5), or ``held``
    once the load has held it (``holding``): the status the submission will have once loaded. A
    rejected return carries no activities.
    """

    path: Path
    file_sha256: str
    year: int | None
    centre_code: str | None
    template_version: str | None
    rows_read: int
    activities: pd.DataFrame
    findings: list[Finding] = field(default_factory=list)
    rejected: bool = False
    held: bool = False
    """Set by the load (``holding``): a return with no activity to load, not put in force over
    a submission in force that has some, until a steward decides."""
    recorded_as: int | None = None
    """The submission these bytes were already recorded as, when the file was not read again:
    its findings are then those the warehouse holds (see ``incremental``), and its activities
    stay there (``activities_stored``)."""
    activities_stored: int | None = None
    """How many activities the warehouse holds for this return when ``activities`` no longer
    does (empty): a return known by its bytes, or one this run loaded already."""
    stage_seconds: dict[str, float] = field(default_factory=dict)
    """Seconds spent on this return per stage (``read``, ``normalise``, ``validate``)."""
    compared: tuple[tuple[int, ...], ActivityDiff] | None = None
    """The submissions in force when the return was compared with them before its load, and how
    it differs from them (``loading.compare_in_advance``); None when it was not (or none was in
    force)."""
    relative_name: str | None = None
    """The file's path relative to its year folder as people see it (``Grand Est/IREV.xlsx``,
    see ``inbox.relative_name``); None: its name alone. It is the ``file_name`` stored and shown."""

    def stored(self) -> ReturnResult:
        """The return once its activities are in the warehouse: counted, no longer held."""
        return replace(self, activities=empty_activities(), activities_stored=self.rows_loaded)

    @property
    def file_name(self) -> str:
        return self.relative_name or display_name(self.path)

    def named(self, relative_name: str) -> ReturnResult:
        """The same return known by ``relative_name``, its findings included."""
        findings = [replace(f, file_name=relative_name) for f in self.findings]
        return replace(self, relative_name=relative_name, findings=findings)

    @property
    def n_errors(self) -> int:
        return sum(f.severity == "error" for f in self.findings)

    @property
    def n_warnings(self) -> int:
        return sum(f.severity == "warning" for f in self.findings)

    @property
    def rows_loaded(self) -> int:
        if self.rejected:
            return 0
        if self.activities_stored is not None:
            return self.activities_stored
        return len(self.activities)

    @property
    def rows_rejected(self) -> int:
        return self.rows_read - self.rows_loaded

    @property
    def status(self) -> str:
        if self.rejected:
            return "rejected"
        if self.held:
            return "held"
        return "loaded_with_errors" if self.n_errors else "loaded"


def display_name(path: Path) -> str:
    """A file's name as text that can be stored and shown: bytes that are not UTF-8 become �.

    Control characters are spelled out (a line feed is ``\\n``): no log line can be forged.
    """
    name = path.name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return escape_controls(name)


_NO_ACTIVITIES = pd.DataFrame({name: pd.Series(dtype=object) for name in ACTIVITY_COLUMNS})


def empty_activities() -> pd.DataFrame:
    """An activities frame with no rows and the expected columns.

    A copy of one made once: 10 µs instead of 0.5 ms, for each return a re-run does not read.
    """
    return _NO_ACTIVITIES.copy()
