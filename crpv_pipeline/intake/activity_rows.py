"""The Pandera model of the activity rows as written (contract §4): every row rule is one check.

``ActivityRows`` has one object column per field, indexed by Excel row number; each check is
named by its rule id in ``reference/data/rules.csv``, which also gives its severity and French
message. The checks look the normalised values up (``normalisation``) in ``NORMALISED``, set by
``validation.row_findings`` for the frame being validated; outside it they normalise the column
themselves, with the same outcome. Stays out: turning failures into findings (``validation``).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from crpv_pipeline.intake.cell_problems import CellProblem
from crpv_pipeline.intake.normalisation import (
    NormalisedRows,
    by_value,
    normalise_column,
    problem_mask,
)
from crpv_pipeline.reference.refdata import default_nomenclature

MAX_TITLE_LENGTH = 500
MAX_TEXT_LENGTH = 32_767  # the most a spreadsheet cell holds; more comes from a forged file
HALF_DAYS_RANGE = (1, 60)
HALF_DAYS_WARNING = 20
PARTICIPANTS_RANGE = (0, 5000)
PARTICIPANTS_WARNING = 500


NORMALISED: ContextVar[NormalisedRows | None] = ContextVar("crpv_normalised", default=None)
"""The normalised values of the frame being validated, set by ``row_findings`` so that the
checks of ``ActivityRows`` look values up instead of parsing them again."""


def _normalised(series: pd.Series, name: str) -> pd.Series:
    """The normalised column ``name`` for the rows of ``series`` (a column of raw cells).

    Pandera drops the blank cells of a column before a column check: the rows are those of
    ``series``. Outside ``row_findings`` (the model validating a frame on its own) the column is
    computed from ``series``.
    """
    rows = NORMALISED.get()
    if rows is None:
        return normalise_column(name, series, default_nomenclature())
    column = rows.values[name]
    return column if len(column) == len(series) else column.reindex(series.index)


def _problems(series: pd.Series) -> pd.Series | None:
    """Mask of the cells of ``series`` that hold a ``CellProblem``, None if none does."""
    rows = NORMALISED.get()
    if rows is None:
        mask = problem_mask(series)
        return mask if mask.any() else None
    mask = rows.problems.get(str(series.name))
    if mask is None:
        return None
    return mask if len(mask) == len(series) else mask.reindex(series.index)


def _passes(series: pd.Series, ok: pd.Series) -> pd.Series:
    """``ok``, except where a cell holds no usable value.

    ``cell_error`` and ``formula_without_value`` report such a cell, once.
    """
    ok = ok.astype(bool)
    problems = _problems(series)
    return ok if problems is None else ok | problems


def _parsed(series: pd.Series, name: str) -> pd.Series:
    """True where the cell gave a normalised value (``name``)."""
    return _passes(series, _normalised(series, name).notna())


def _no_problem(frame: pd.DataFrame, kind: str) -> pd.DataFrame | bool:
    """Element-wise: True where a cell is not a ``CellProblem`` of ``kind``.

    True for the whole frame when no cell of it holds a ``CellProblem`` (most returns): Pandera
    then has no frame of booleans to look through.
    """
    rows = NORMALISED.get()
    fields = list(frame.columns) if rows is None else [c for c in frame if c in rows.problems]
    if not fields:
        return True
    out = pd.DataFrame(True, index=frame.index, columns=frame.columns)
    for name in fields:
        column = frame[name].tolist()
        out[name] = [not (type(v) is CellProblem and v.kind == kind) for v in column]
    return out


def _whole_in(series: pd.Series, name: str, bounds: tuple[int, int]) -> pd.Series:
    low, high = bounds
    number = pd.to_numeric(_normalised(series, name), errors="coerce")
    return _passes(series, number.isna() | number.between(low, high))


def _plausible(series: pd.Series, name: str, limit: int, ceiling: int) -> pd.Series:
    """Warning check: a whole number above ``limit`` but still allowed (≤ ``ceiling``) fails."""
    number = pd.to_numeric(_normalised(series, name), errors="coerce")
    return _passes(series, number.isna() | (number <= limit) | (number > ceiling))


_DUPLICATE_KEY = (
    ("activity_date", "date"),
    ("title", "title_key"),
    ("activity_type", "activity_type_code"),
    ("modality", "modality_code"),
)
"""What makes two activities identical: each field with the normalised value compared."""


def duplicate_of(frame: pd.DataFrame) -> pd.Series:
    """For each row, the Excel row of the first identical activity before it, else <NA>.

    Identical: same date, title (loosely), activity type and modality; a row lacking any of
    them is the duplicate of none.
    """
    keys = zip(*(_normalised(frame[f], n).tolist() for f, n in _DUPLICATE_KEY), strict=True)
    first: dict[tuple, int] = {}
    out: list[Any] = []
    for row, key in zip(frame.index.tolist(), keys, strict=True):
        if None in key:
            out.append(None)
            continue
        earlier = first.setdefault(key, row)
        out.append(None if earlier == row else earlier)
    return pd.Series(out, index=frame.index, dtype="Int64")


class ActivityRows(pa.DataFrameModel):
    """Activity rows as written in the ``Activités`` sheet, indexed by Excel row number.

    The checks of whole rows say ``ignore_na=False``: no row is blank in all of its columns
    (blank rows are left out when reading and ``year`` is always set), so Pandera need not
    look for such rows in every cell of the frame.
    """

    year: Series[int]
    activity_date: Series[object] = pa.Field(nullable=False)
    title: Series[object] = pa.Field(nullable=False)
    activity_type: Series[object] = pa.Field(nullable=False)
    half_days: Series[object] = pa.Field(nullable=False)
    modality: Series[object] = pa.Field(nullable=False)
    theme: Series[object] = pa.Field(nullable=False)
    publics: Series[object] = pa.Field(nullable=True)
    participants: Series[object] = pa.Field(nullable=True)
    department: Series[object] = pa.Field(nullable=True)
    partners: Series[object] = pa.Field(nullable=True)
    comment: Series[object] = pa.Field(nullable=True)

    @pa.check("activity_date", name="date_invalid")
    def _date_invalid(cls, s: pd.Series) -> pd.Series:
        return _parsed(s, "date")

    @pa.check("activity_date", name="weekend_date")
    def _weekend_date(cls, s: pd.Series) -> pd.Series:
        dates = _normalised(s, "date").tolist()
        return _passes(s, pd.Series(by_value(dates, _not_weekend), index=s.index))

    @pa.dataframe_check(name="date_out_of_year", ignore_na=False)
    def _date_out_of_year(cls, df: pd.DataFrame) -> pd.Series:
        dates = _normalised(df["activity_date"], "date").tolist()
        return pd.Series(
            [d is None or d.year == y for d, y in zip(dates, df["year"].tolist(), strict=True)],
            index=df.index,
        )

    @pa.check("title", name="title_too_long")
    def _title_too_long(cls, s: pd.Series) -> pd.Series:
        return _passes(s, _normalised(s, "title_length") <= MAX_TITLE_LENGTH)

    @pa.check("partners", "comment", name="text_too_long")
    def _text_too_long(cls, s: pd.Series) -> pd.Series:
        return _passes(s, _normalised(s, f"{s.name}_length") <= MAX_TEXT_LENGTH)

    @pa.check("activity_type", name="activity_type_unknown")
    def _activity_type_unknown(cls, s: pd.Series) -> pd.Series:
        return _parsed(s, "activity_type_code")

    @pa.check("modality", name="modality_unknown")
    def _modality_unknown(cls, s: pd.Series) -> pd.Series:
        return _parsed(s, "modality_code")

    @pa.check("theme", name="theme_unknown")
    def _theme_unknown(cls, s: pd.Series) -> pd.Series:
        return _parsed(s, "theme_code")

    @pa.check("publics", name="publics_unknown")
    def _publics_unknown(cls, s: pd.Series) -> pd.Series:
        return _passes(s, _normalised(s, "publics_unknown").map(len) == 0)

    @pa.check("half_days", name="half_days_not_integer")
    def _half_days_not_integer(cls, s: pd.Series) -> pd.Series:
        return _parsed(s, "half_days")

    @pa.check("half_days", name="half_days_out_of_range")
    def _half_days_out_of_range(cls, s: pd.Series) -> pd.Series:
        return _whole_in(s, "half_days", HALF_DAYS_RANGE)

    @pa.check("half_days", name="half_days_high")
    def _half_days_high(cls, s: pd.Series) -> pd.Series:
        return _plausible(s, "half_days", HALF_DAYS_WARNING, HALF_DAYS_RANGE[1])

    @pa.check("participants", name="participants_not_integer")
    def _participants_not_integer(cls, s: pd.Series) -> pd.Series:
        return _parsed(s, "participants")

    @pa.check("participants", name="participants_out_of_range")
    def _participants_out_of_range(cls, s: pd.Series) -> pd.Series:
        return _whole_in(s, "participants", PARTICIPANTS_RANGE)

    @pa.check("participants", name="participants_high")
    def _participants_high(cls, s: pd.Series) -> pd.Series:
        return _plausible(s, "participants", PARTICIPANTS_WARNING, PARTICIPANTS_RANGE[1])

    @pa.check("department", name="department_invalid")
    def _department_invalid(cls, s: pd.Series) -> pd.Series:
        return _parsed(s, "department")

    @pa.dataframe_check(name="cell_error", ignore_na=False)
    def _cell_error(cls, df: pd.DataFrame) -> pd.DataFrame | bool:
        return _no_problem(df, "error")

    @pa.dataframe_check(name="formula_without_value", ignore_na=False)
    def _formula_without_value(cls, df: pd.DataFrame) -> pd.DataFrame | bool:
        return _no_problem(df, "formula")

    @pa.dataframe_check(name="duplicate_activity", ignore_na=False)
    def _duplicate_activity(cls, df: pd.DataFrame) -> pd.Series:
        return duplicate_of(df).isna()

    class Config:
        strict = False
        coerce = False


def _not_weekend(day: Any) -> bool:
    return day is None or day.weekday() < 5


FIELDS = tuple(name for name in ActivityRows.to_schema().columns if name != "year")

