"""Validation of a return (contract §4): file-level checks and the Pandera row rules.

``ActivityRows`` is the Pandera model of the activity rows *as written* (one object column per
field, indexed by Excel row number); every row rule of the contract is one of its checks, named
by its rule id in ``data/rules.csv``, which also gives its severity and French message. The
checks run lazily so that every failure of a file is found at once; ``SchemaErrors.failure_cases``
become ``Finding``s that point at the cell as the centre sees it. Rows with an error are
quarantined; the others are converted to typed activities. Nothing here touches a database.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from crpv_pipeline.cell_problems import CellProblem
from crpv_pipeline.file_checks import file_finding, identify, rejected, removal_findings
from crpv_pipeline.file_guards import DEFAULT_LIMITS, Limits, guard, os_error_text
from crpv_pipeline.model import (
    ACTIVITY_COLUMNS,
    Finding,
    ReturnResult,
    display_name,
    empty_activities,
)
from crpv_pipeline.normalisation import (
    NormalisedRows,
    by_value,
    normalise,
    normalise_column,
    problem_mask,
)
from crpv_pipeline.parsing import (
    format_value,
    french_number,
    parse_date,
    weekday_fr,
)
from crpv_pipeline.reading import (
    RawReturn,
    ReturnFileError,
    column_letter,
    file_sha256,
    read_return,
)
from crpv_pipeline.refdata import Nomenclature, default_nomenclature
from crpv_pipeline.timing import StageTimer

MAX_TITLE_LENGTH = 500
MAX_TEXT_LENGTH = 32_767  # the most a spreadsheet cell holds; more comes from a forged file
HALF_DAYS_RANGE = (1, 60)
HALF_DAYS_WARNING = 20
PARTICIPANTS_RANGE = (0, 5000)
PARTICIPANTS_WARNING = 500

# Dataframe-level checks report a failure for every column of a failing row: the finding is
# kept for the column that the rule is about.
_DATAFRAME_CHECK_FIELD = {"date_out_of_year": "activity_date", "duplicate_activity": "title"}


_NORMALISED: ContextVar[NormalisedRows | None] = ContextVar("crpv_normalised", default=None)
"""The normalised values of the frame being validated, set by ``row_findings`` so that the
checks of ``ActivityRows`` look values up instead of parsing them again."""


def _normalised(series: pd.Series, name: str) -> pd.Series:
    """The normalised column ``name`` for the rows of ``series`` (a column of raw cells).

    Pandera drops the blank cells of a column before a column check: the rows are those of
    ``series``. Outside ``row_findings`` (the model validating a frame on its own) the column is
    computed from ``series``.
    """
    rows = _NORMALISED.get()
    if rows is None:
        return normalise_column(name, series, default_nomenclature())
    column = rows.values[name]
    return column if len(column) == len(series) else column.reindex(series.index)


def _problems(series: pd.Series) -> pd.Series | None:
    """Mask of the cells of ``series`` that hold a ``CellProblem``, None if none does."""
    rows = _NORMALISED.get()
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
    rows = _NORMALISED.get()
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


def validate_return(
    path: Path,
    year: int | None,
    limits: Limits = DEFAULT_LIMITS,
    relative_name: str | None = None,
) -> ReturnResult:
    """Read and validate one return received in the inbox folder of ``year``.

    With ``year`` None (a steward checking a file on its own) the year the file declares is
    used and no year-mismatch check is made. A file refused by ``file_guards`` (a link, empty,
    too large, encrypted, a zip bomb) is hashed but never opened by the reader.
    ``relative_name`` is the name the return goes by (``Grand Est/IREV.xlsx`` for a file in a
    subfolder of the year folder: ``inbox.relative_name``), in its findings too; by default, the
    file's name.
    """
    result = _validate_return(path, year, limits)
    return result if relative_name is None else result.named(relative_name)


def _validate_return(path: Path, year: int | None, limits: Limits) -> ReturnResult:
    nomenclature = default_nomenclature()
    timer = StageTimer()
    try:
        with timer.stage("read"):
            sha256 = file_sha256(path)  # a link is hashed by where it points, never followed
            scan = guard(path, limits, scan_worksheets=True)
    except (ReturnFileError, OSError) as err:
        if isinstance(err, OSError):
            err = ReturnFileError("unreadable_file", detail=os_error_text(err))
            sha256 = ""
        hint = identify({}, path, year, nomenclature)  # the centre, if the file name says it
        findings = [file_finding(path, err, nomenclature)]
        return rejected(path, sha256, year or hint.year, findings, hint.centre_code)
    try:
        with timer.stage("read"):
            raw = read_return(
                path,
                nomenclature,
                limits.max_rows,
                limits.max_columns,
                look_for_cell_problems=scan.may_hold_cell_problems,
                limits=limits,
            )
    except ReturnFileError as err:
        identity = identify(err.identification or {}, path, year, nomenclature)
        # A file that could not be opened says nothing of its centre: no follow-on findings.
        follow_on = identity.errors if err.identification is not None else []
        findings = [file_finding(path, e, nomenclature) for e in [err, *follow_on]]
        findings += removal_findings(path, err.removed_controls, nomenclature)
        return rejected(path, sha256, year or identity.year, findings, identity.centre_code)
    identity = identify(raw.identification, path, year, nomenclature)
    year = year or identity.year
    removed = removal_findings(path, raw.removed_controls, nomenclature)
    if identity.errors or identity.centre_code is None:
        findings = [file_finding(path, e, nomenclature) for e in identity.errors]
        findings += [f for f in removed if f.field is None]  # the Identification's cells
        return rejected(
            path, sha256, year, findings, identity.centre_code, identity.template_version
        )

    findings = []
    for sheet in raw.sheets:
        if sheet.extra_columns:
            extra = ReturnFileError(
                "extra_columns",
                sheet=sheet.name,
                row=sheet.header_row,
                value=", ".join(sheet.extra_columns),
            )
            findings.append(file_finding(path, extra, nomenclature))
    findings += [f for f in removed if f.field is None]
    with timer.stage("normalise"):
        blank = pd.Series(None, index=raw.rows.index, dtype=object)
        frame = pd.DataFrame(
            {name: raw.rows[name] if name in raw.rows else blank for name in FIELDS},
            index=raw.rows.index,
        )
        frame.insert(0, "year", pd.Series(year, index=frame.index, dtype="int64"))
        normalised = normalise(frame[list(FIELDS)], nomenclature)
    with timer.stage("validate"):
        in_rows = row_findings(frame, raw, nomenclature, normalised)
        findings += sorted(in_rows + [f for f in removed if f.field], key=_in_sheet_order(raw))
        quarantined = {
            raw.key(f.sheet, f.row_number) for f in findings if f.severity == "error" and f.field
        }
        valid = ~frame.index.isin(list(quarantined))
        activities = to_activities(normalised.values.loc[valid], raw)
    return ReturnResult(
        path=path,
        file_sha256=sha256,
        year=year,
        centre_code=identity.centre_code,
        template_version=identity.template_version,
        rows_read=len(frame),
        activities=activities,
        findings=findings,
        stage_seconds=timer.seconds,
    )


def row_findings(
    frame: pd.DataFrame,
    raw: RawReturn,
    nomenclature: Nomenclature,
    normalised: NormalisedRows | None = None,
) -> list[Finding]:
    """Run ``ActivityRows`` lazily on ``frame`` and turn every failure into a ``Finding``.

    ``normalised`` holds the normalised values of ``frame`` (computed here if not given).
    """
    if normalised is None:
        normalised = normalise(frame[list(FIELDS)], nomenclature)
    token = _NORMALISED.set(normalised)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ActivityRows.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
    else:
        return []
    finally:
        _NORMALISED.reset(token)
    duplicates = None
    findings = []
    for rule, field_name, source_row in _failed_cells(cases, nomenclature):
        raw_value = frame.at[source_row, field_name]
        context: dict[str, Any] = {
            "value": format_value(raw_value),
            "year": frame.at[source_row, "year"],
        }
        if rule.endswith("_unknown"):
            context["allowed"] = nomenclature.category(field_name).allowed_text()
        if rule == "publics_unknown":
            context["value"] = " ; ".join(normalised.values.at[source_row, "publics_unknown"])
        elif rule in ("title_too_long", "text_too_long"):
            context["length"] = french_number(len(format_value(raw_value) or ""))
        elif rule == "weekend_date":
            context["weekday"] = weekday_fr(parse_date(raw_value))
        elif rule == "duplicate_activity":
            if duplicates is None:
                token = _NORMALISED.set(normalised)
                try:
                    duplicates = duplicate_of(frame)
                finally:
                    _NORMALISED.reset(token)
            context["first_row"] = _row_reference(raw, int(duplicates.at[source_row]), source_row)
        findings.append(
            _row_finding(raw, field_name, source_row, raw_value, rule, context, nomenclature)
        )
    findings.sort(key=_in_sheet_order(raw))
    return findings


def _in_sheet_order(raw: RawReturn) -> Callable[[Finding], tuple[int, int, str]]:
    """The order of the findings of activity rows: sheet and row, column of the model, rule."""

    def order(finding: Finding) -> tuple[int, int, str]:
        key = raw.key(finding.sheet, finding.row_number)
        return key, FIELDS.index(finding.field), finding.rule

    return order


def _row_reference(raw: RawReturn, key: int, from_key: int) -> str:
    """The row of ``key`` as a message names it, seen from the row of ``from_key``.

    « 12 » in the same sheet, « 12 de la feuille « Activités (2) » » in another.
    """
    sheet, row = raw.place(key)
    if sheet == raw.place(from_key)[0]:
        return str(row)
    return f"{row} de la feuille « {sheet} »"


def _failed_cells(cases: pd.DataFrame, nomenclature: Nomenclature):
    """(rule, field, row key) of each failed cell in Pandera's ``failure_cases``.

    Column checks name their column; a dataframe check returning one boolean per row fails on
    every column (only the rule's own field is kept); one returning a boolean per cell gives
    ``{column: value}`` as its failure case.
    """
    for case in cases.itertuples(index=False):
        rule = "required" if case.check == "not_nullable" else str(case.check)
        if rule not in nomenclature.rules or case.index is None:
            raise RuntimeError(f"unexpected validation failure: {case}")
        if isinstance(case.failure_case, dict):
            fields = list(case.failure_case)
        elif rule in _DATAFRAME_CHECK_FIELD:
            fields = (
                [_DATAFRAME_CHECK_FIELD[rule]]
                if case.column == _DATAFRAME_CHECK_FIELD[rule]
                else []
            )
        else:
            fields = [str(case.column)]
        for field_name in fields:
            if field_name in FIELDS:
                yield rule, field_name, int(case.index)


def _row_finding(raw, field_name, key, raw_value, rule, context, nomenclature) -> Finding:
    sheet = raw.sheet_of(key)
    row = key - sheet.offset
    column = sheet.columns.get(field_name)
    label = column[1] if column else _canonical_label(field_name, nomenclature)
    context.setdefault("column", label)
    return Finding(
        file_name=display_name(raw.path),
        sheet=sheet.name,
        row_number=row,
        cell=f"{column_letter(column[0])}{row}" if column else None,
        column_label=label,
        field=field_name,
        value=format_value(raw_value),
        rule=rule,
        severity=nomenclature.severity(rule),
        message=nomenclature.message(rule, **context),
    )


def _canonical_label(field_name: str, nomenclature: Nomenclature) -> str:
    return next(c.label for c in nomenclature.columns if c.field == field_name)


_ACTIVITY_SOURCES = {
    "activity_date": "date",
    "title": "title_text",
    "activity_type_code": "activity_type_code",
    "modality_code": "modality_code",
    "theme_code": "theme_code",
    "half_days": "half_days",
    "participants": "participants",
    "department": "department",
    "partners": "partners_text",
    "comment": "comment_text",
    "public_codes": "public_codes",
}
"""Each column of ``model.ACTIVITY_COLUMNS`` (but where it comes from): its normalised column."""


def to_activities(valid: pd.DataFrame, raw: RawReturn) -> pd.DataFrame:
    """Typed activities (``model.ACTIVITY_COLUMNS``) of the rows that passed every error rule.

    ``valid`` holds their normalised values (``NormalisedRows.values``, indexed by the row keys
    of ``raw``, which tell each row's sheet and Excel row).
    """
    if valid.empty:
        return empty_activities()
    keys = valid.index.to_numpy()
    rows, sheets = keys.copy(), np.empty(len(keys), dtype=object)
    for sheet in raw.sheets:
        mask = (keys > sheet.offset) & (keys <= sheet.end)
        rows[mask] -= sheet.offset
        sheets[mask] = sheet.name
    columns = {"source_row": rows.tolist(), "source_sheet": sheets.tolist()}
    columns.update({name: valid[source].tolist() for name, source in _ACTIVITY_SOURCES.items()})
    return pd.DataFrame(columns, columns=list(ACTIVITY_COLUMNS), dtype=object)
