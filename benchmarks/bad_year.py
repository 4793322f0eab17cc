"""What makes a corpus a bad year: returns full of findings, and returns that must be rejected.

Belongs here: which return of a corpus is which (``return_kind``), how the rows of a return full
of findings are spoiled (hundreds of findings of several rules, and rows that are quarantined),
the extra columns such a return carries, and how each rejected return differs from a good one
(``rejection``): plain data and list edits, deterministic for a given random generator.

Stays out: writing the files (``returns``), the corpus's folders and sizes (``corpus``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from benchmarks.corpus import CorpusSpec

ORDINARY = "ordinary"
"""A return as the network sends it: clean, or with a few mistakes
(``CorpusSpec.files_with_mistakes_every``)."""
MANY = "many"
"""A return full of findings: about a third of its rows carry one."""
REJECTIONS = (
    "unknown_centre",
    "missing_sheet",
    "wrong_template",
    "not_a_workbook",
    "year_mismatch",
)
"""The rejected returns of a bad year, in the order they are placed among the corpus's returns."""
ORDINARY_EVERY = 5
"""In a bad year, one return in five (of those not rejected) is ordinary; the others are full
of findings."""

EXTRA_COLUMNS = ("Code analytique", "Observations internes")
"""Columns the template does not know (one ``extra_columns`` warning per return)."""

SHARES = {
    "weekend": 0.10,
    "participants": 0.07,
    "half_days": 0.07,
    "duplicate": 0.07,
    "error": 0.05,
}
"""Share of the rows of a return full of findings given each finding (each row one at most)."""

_ERRORS = (  # (column, value): a row error that quarantines the row
    (3, "2,5"),  # half_days_not_integer
    (5, "Transition écologique"),  # theme_unknown
    (2, "Visite de site"),  # activity_type_unknown
    (0, "DATE_LAST_YEAR"),  # date_out_of_year (the date is filled in by year)
    (8, "99"),  # department_invalid
    (4, None),  # required (modality)
    (7, "une vingtaine"),  # participants_not_integer
)


def return_kind(index: int, spec: CorpusSpec) -> str:
    """What the ``index``-th return of the corpus is: ordinary, full of findings, or rejected.

    The ``spec.rejected`` rejected returns are spread evenly (the last of each equal slice of
    returns), in the order of ``REJECTIONS``; of the others, in a corpus of many findings, one
    in ``ORDINARY_EVERY`` is ordinary.
    """
    if spec.rejected:
        step = max(spec.centres // spec.rejected, 1)
        slot, position = divmod(index, step)
        if position == step - 1 and slot < spec.rejected:
            return REJECTIONS[slot % len(REJECTIONS)]
    if spec.many_findings and index % ORDINARY_EVERY != ORDINARY_EVERY - 3:
        return MANY
    return ORDINARY


def _weekend_days(year: int) -> list[date]:
    day, days = date(year, 1, 1), []
    while day.year == year:
        if day.weekday() >= 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def spoil_heavily(rows: list[list[object]], rng: random.Random, year: int) -> None:
    """Give about a third of ``rows`` a finding each, in place.

    Weekend dates, participants above 500, half-days above 20, duplicates (same date, title,
    type and modality as an untouched row) and row errors that quarantine the row, on disjoint
    rows; the rows left untouched are the duplicates' sources.
    """
    counts = {name: int(len(rows) * share) for name, share in SHARES.items()}
    chosen = rng.sample(range(len(rows)), sum(counts.values()))
    untouched = sorted(set(range(len(rows))) - set(chosen))
    weekends = _weekend_days(year)
    start = 0
    for name, count in counts.items():
        for n, target in enumerate(chosen[start : start + count]):
            row = rows[target]
            if name == "weekend":
                row[0] = datetime(*rng.choice(weekends).timetuple()[:3])
            elif name == "participants":
                row[7] = rng.randint(501, 3_000)
            elif name == "half_days":
                row[3] = rng.randint(21, 60)
            elif name == "duplicate" and untouched:
                source = rows[rng.choice(untouched)]
                row[0], row[1], row[2], row[4] = source[0], source[1], source[2], source[4]
            elif name == "error":
                column, value = _ERRORS[n % len(_ERRORS)]
                if value == "DATE_LAST_YEAR":
                    value = datetime(year - 1, 12, rng.randint(1, 31))
                row[column] = value
        start += count


def extra_cells(rng: random.Random, number: int) -> list[object]:
    """The cells of ``EXTRA_COLUMNS`` in an activity row of a return full of findings."""
    code = f"ANA-{number % 40:02d}" if rng.random() < 0.6 else None
    note = "À revoir avec la direction" if rng.random() < 0.2 else None
    return [code, note]


@dataclass(frozen=True)
class Layout:
    """How a return is laid out; a rejected return differs from a good one in one of these."""

    centre: str
    year: int
    activity_sheet: str = "Activités"
    header: bool = True
    """Whether the activity sheet has its header row (a sheet without one cannot be read)."""
    renamed: tuple[tuple[str, str], ...] = ()
    """Column labels of another template: (label of this template, label written instead)."""
    as_text: bool = False
    """The activities written as semicolon-separated text, under the workbook's name."""


UNKNOWN_CENTRE = "ANCIENCENTRE"
"""The centre a return of ``unknown_centre`` names: on no reference list."""

OLD_TEMPLATE = (
    ("Type d'activité", "Catégorie"),
    ("Nombre de demi-journées", "Durée (heures)"),
    ("Thématique principale", "Domaine"),
)
"""A template of other years: hours instead of half-days, other labels (missing columns)."""


def layout(kind: str, code: str, index: int, year: int) -> Layout:
    """The layout of the ``index``-th return, centre ``code``'s (``kind``: ``ORDINARY``,
    ``MANY`` or one of ``REJECTIONS``)."""
    if kind == "unknown_centre":
        return Layout(f"{UNKNOWN_CENTRE}{index:03d}", year)
    if kind == "missing_sheet":  # the activities pasted into a new sheet, without their header
        return Layout(code, year, activity_sheet="Feuil1", header=False)
    if kind == "wrong_template":
        return Layout(code, year, renamed=OLD_TEMPLATE)
    if kind == "not_a_workbook":
        return Layout(code, year, as_text=True)
    if kind == "year_mismatch":
        return Layout(code, year - 1)
    return Layout(code, year)
