"""The Pandera schema of the activity rows as written (contract §4): every row rule is one check.

``activity_rows_schema(normalised)`` has one object column per field, indexed by Excel row
number; each check is named by its rule id in ``reference/data/rules.csv``, which also gives its
severity and French message. The checks judge the normalised values of the frame
(``normalisation.normalise``), given to the function that builds the schema rather than parsed
again: the schema holds no other state, so it finds the same failures wherever it is used.
Stays out: turning failures into findings (``validation``), normalising the cells
(``normalisation``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pandera.pandas as pa

from crpv_pipeline.intake.cell_problems import CellProblem
from crpv_pipeline.intake.normalisation import NormalisedRows, by_value

MAX_TITLE_LENGTH = 500
MAX_TEXT_LENGTH = 32_767  # the most a spreadsheet cell holds; more comes from a forged file
HALF_DAYS_RANGE = (1, 60)
HALF_DAYS_WARNING = 20
PARTICIPANTS_RANGE = (0, 5000)
PARTICIPANTS_WARNING = 500
WHOLE_NUMBER_RULES = {
    "half_days": ("half_days_not_integer", "half_days_out_of_range", "half_days_high"),
    "participants": ("participants_not_integer", "participants_out_of_range", "participants_high"),
}
"""The rules of each whole-number field: not a whole number, out of range, high (a warning)."""

REQUIRED_FIELDS = ("activity_date", "title", "activity_type", "half_days", "modality", "theme")
OPTIONAL_FIELDS = ("publics", "participants", "department", "partners", "comment")
FIELDS = REQUIRED_FIELDS + OPTIONAL_FIELDS
"""The fields of an activity row, in the order of the contract's columns (and of findings)."""

_DUPLICATE_KEY = ("date", "title_key", "activity_type_code", "modality_code")
"""What makes two activities identical: the normalised values compared (date, title loosely,
activity type, modality)."""


def duplicate_of(values: pd.DataFrame) -> pd.Series:
    """For each row, the Excel row of the first identical activity before it, else <NA>.

    ``values`` are the rows' normalised values (``NormalisedRows.values``). Identical: same date,
    title (loosely), activity type and modality; a row lacking any of them is the duplicate of
    none.
    """
    keys = zip(*(values[name].tolist() for name in _DUPLICATE_KEY), strict=True)
    first: dict[tuple, int] = {}
    out: list[Any] = []
    for row, key in zip(values.index.tolist(), keys, strict=True):
        if None in key:
            out.append(None)
            continue
        earlier = first.setdefault(key, row)
        out.append(None if earlier == row else earlier)
    return pd.Series(out, index=values.index, dtype="Int64")


class _Judge:
    """The checks' view of one frame's normalised values (``NormalisedRows``)."""

    def __init__(self, normalised: NormalisedRows) -> None:
        self.values = normalised.values
        self.problems = normalised.problems

    def _aligned(self, column: pd.Series, index: pd.Index) -> pd.Series:
        """``column`` for the rows of ``index``: all of them, or those Pandera kept.

        Pandera drops the blank cells of a column before a column check. A row the normalised
        values do not hold is a ``KeyError``: they are those of another frame.
        """
        if len(column) == len(index) and column.index.equals(index):
            return column
        return column.loc[index]

    def value(self, series: pd.Series, name: str) -> pd.Series:
        """The normalised column ``name`` for the rows of ``series`` (a column of raw cells)."""
        return self._aligned(self.values[name], series.index)

    def passes(self, series: pd.Series, ok: pd.Series) -> pd.Series:
        """``ok``, except where a cell holds no usable value.

        ``cell_error`` and ``formula_without_value`` report such a cell, once.
        """
        ok = ok.astype(bool)
        mask = self.problems.get(str(series.name))
        return ok if mask is None else ok | self._aligned(mask, series.index)

    def parsed(self, name: str):
        """Check function: True where the cell gave a normalised value (``name``)."""
        return lambda s: self.passes(s, self.value(s, name).notna())

    def whole_number(self, name: str, bounds: tuple[int, int], warn_above: int) -> list[pa.Check]:
        """The checks of the ``WHOLE_NUMBER_RULES`` of field ``name``.

        Out of range: outside ``bounds``; high (a warning): above ``warn_above`` but allowed.
        """
        not_integer, out_of_range, too_high = WHOLE_NUMBER_RULES[name]
        low, high = bounds

        def number(s: pd.Series) -> pd.Series:
            return pd.to_numeric(self.value(s, name), errors="coerce")

        # Not ``in_range``: Pandera runs its own check of that name for a function so named.
        def within_bounds(s: pd.Series) -> pd.Series:
            n = number(s)
            return self.passes(s, n.isna() | n.between(low, high))

        def not_high(s: pd.Series) -> pd.Series:
            n = number(s)
            return self.passes(s, n.isna() | (n <= warn_above) | (n > high))

        return [
            pa.Check(self.parsed(name), name=not_integer),
            pa.Check(within_bounds, name=out_of_range),
            pa.Check(not_high, name=too_high),
        ]

    def not_weekend(self, s: pd.Series) -> pd.Series:
        dates = self.value(s, "date").tolist()
        return self.passes(s, pd.Series(by_value(dates, _not_weekend), index=s.index))

    def short(self, name: str, limit: int):
        """Check function: text of at most ``limit`` characters (``name``: its length)."""
        return lambda s: self.passes(s, self.value(s, name) <= limit)

    def text_short(self, s: pd.Series) -> pd.Series:
        return self.passes(s, self.value(s, f"{s.name}_length") <= MAX_TEXT_LENGTH)

    def publics_known(self, s: pd.Series) -> pd.Series:
        return self.passes(s, self.value(s, "publics_unknown").map(len) == 0)

    def in_year(self, df: pd.DataFrame) -> pd.Series:
        dates = self.value(df["activity_date"], "date").tolist()
        years = df["year"].tolist()
        return pd.Series(
            [d is None or d.year == y for d, y in zip(dates, years, strict=True)], index=df.index
        )

    def no_problem(self, kind: str):
        """Element-wise frame check: True where a cell is not a ``CellProblem`` of ``kind``.

        True for the whole frame when no cell of it holds a ``CellProblem`` (most returns):
        Pandera then has no frame of booleans to look through.
        """

        def check(df: pd.DataFrame) -> pd.DataFrame | bool:
            fields = [c for c in df if c in self.problems]
            if not fields:
                return True
            out = pd.DataFrame(True, index=df.index, columns=df.columns)
            for name in fields:
                column = df[name].tolist()
                out[name] = [not (type(v) is CellProblem and v.kind == kind) for v in column]
            return out

        return check

    def first_of_its_kind(self, df: pd.DataFrame) -> pd.Series:
        return duplicate_of(self._aligned_frame(df)).isna()

    def _aligned_frame(self, df: pd.DataFrame) -> pd.DataFrame:
        values = self.values
        return values if values.index.equals(df.index) else values.loc[df.index]


def activity_rows_schema(normalised: NormalisedRows) -> pa.DataFrameSchema:
    """The schema of a frame of activity rows whose normalised values are ``normalised``.

    The frame has a ``year`` column (the reported year) and one object column per field of
    ``FIELDS`` (raw cells, None when blank), indexed by row key; ``normalised`` is
    ``normalisation.normalise`` of its fields. Validate lazily to find every failure at once.
    The checks of whole rows say ``ignore_na=False``: no row is blank in all of its columns
    (blank rows are left out when reading and ``year`` is always set), so Pandera need not look
    for such rows in every cell of the frame.
    """
    judge = _Judge(normalised)
    checks: dict[str, list[pa.Check]] = {
        "activity_date": [
            pa.Check(judge.parsed("date"), name="date_invalid"),
            pa.Check(judge.not_weekend, name="weekend_date"),
        ],
        "title": [pa.Check(judge.short("title_length", MAX_TITLE_LENGTH), name="title_too_long")],
        "activity_type": [
            pa.Check(judge.parsed("activity_type_code"), name="activity_type_unknown")
        ],
        "half_days": judge.whole_number("half_days", HALF_DAYS_RANGE, HALF_DAYS_WARNING),
        "modality": [pa.Check(judge.parsed("modality_code"), name="modality_unknown")],
        "theme": [pa.Check(judge.parsed("theme_code"), name="theme_unknown")],
        "publics": [pa.Check(judge.publics_known, name="publics_unknown")],
        "participants": judge.whole_number(
            "participants", PARTICIPANTS_RANGE, PARTICIPANTS_WARNING
        ),
        "department": [pa.Check(judge.parsed("department"), name="department_invalid")],
        "partners": [pa.Check(judge.text_short, name="text_too_long")],
        "comment": [pa.Check(judge.text_short, name="text_too_long")],
    }
    columns = {"year": pa.Column(int)} | {
        name: pa.Column(object, checks[name], nullable=name in OPTIONAL_FIELDS) for name in FIELDS
    }
    return pa.DataFrameSchema(
        columns,
        checks=[
            pa.Check(judge.in_year, name="date_out_of_year", ignore_na=False),
            pa.Check(judge.no_problem("error"), name="cell_error", ignore_na=False),
            pa.Check(judge.no_problem("formula"), name="formula_without_value", ignore_na=False),
            pa.Check(judge.first_of_its_kind, name="duplicate_activity", ignore_na=False),
        ],
        name="ActivityRows",
        strict=False,
        coerce=False,
    )


def _not_weekend(day: Any) -> bool:
    return day is None or day.weekday() < 5
