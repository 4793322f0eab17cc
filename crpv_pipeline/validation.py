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
from pathlib import Path
from typing import Any

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from crpv_pipeline.cell_problems import CellProblem
from crpv_pipeline.file_checks import file_finding, identify, rejected
from crpv_pipeline.file_guards import DEFAULT_LIMITS, Limits, check_file
from crpv_pipeline.model import (
    ACTIVITY_COLUMNS,
    Finding,
    ReturnResult,
    display_name,
    empty_activities,
)
from crpv_pipeline.parsing import (
    format_value,
    french_number,
    parse_date,
    parse_department,
    parse_whole,
    split_publics,
    weekday_fr,
)
from crpv_pipeline.reading import (
    RawReturn,
    ReturnFileError,
    column_letter,
    file_sha256,
    read_return,
)
from crpv_pipeline.refdata import Nomenclature, default_nomenclature, normalize_label

MAX_TITLE_LENGTH = 500
MAX_TEXT_LENGTH = 32_767  # the most a spreadsheet cell holds; more comes from a forged file
HALF_DAYS_RANGE = (1, 60)
HALF_DAYS_WARNING = 20
PARTICIPANTS_RANGE = (0, 5000)
PARTICIPANTS_WARNING = 500

# Dataframe-level checks report a failure for every column of a failing row: the finding is
# kept for the column that the rule is about.
_DATAFRAME_CHECK_FIELD = {"date_out_of_year": "activity_date", "duplicate_activity": "title"}


def _each(series: pd.Series, predicate: Callable[[Any], bool]) -> pd.Series:
    """Apply ``predicate`` to each non-null value (Pandera drops nulls before column checks).

    Each distinct value is judged once (a column holds few: the same labels, dates, numbers).
    A cell with no usable value (``CellProblem``) passes: the ``cell_error`` and
    ``formula_without_value`` checks report it, once.
    """
    return _by_value(series, lambda v: isinstance(v, CellProblem) or predicate(v)).astype(bool)


def _by_value(series: pd.Series, function: Callable[[Any], Any]) -> pd.Series:
    """``series.map(function)``, calling ``function`` once per distinct value."""
    results: dict[Any, Any] = {}
    values = []
    for value in series.tolist():
        key = (type(value), value)  # 1 and 1.0 and True stay apart
        if key not in results:
            results[key] = function(value)
        values.append(results[key])
    return pd.Series(values, index=series.index, dtype=object)


def _no_problem(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Element-wise: True where a cell is not a ``CellProblem`` of ``kind``."""
    return frame.map(lambda v: not (isinstance(v, CellProblem) and v.kind == kind)).astype(bool)


def _matches(list_name: str) -> Callable[[pd.Series], pd.Series]:
    def check(series: pd.Series) -> pd.Series:
        reference = default_nomenclature().category(list_name)
        return _each(series, lambda v: reference.match(v) is not None)

    return check


def _whole_in(bounds: tuple[int, int]) -> Callable[[Any], bool]:
    low, high = bounds

    def ok(value: Any) -> bool:
        number = parse_whole(value)
        return number is None or low <= number <= high

    return ok


def _plausible(limit: int, ceiling: int) -> Callable[[Any], bool]:
    """Warning check: a whole number above ``limit`` but still allowed (≤ ``ceiling``) fails."""

    def ok(value: Any) -> bool:
        number = parse_whole(value)
        return number is None or number <= limit or number > ceiling

    return ok


def _is_whole(value: Any) -> bool:
    return parse_whole(value) is not None


def duplicate_of(frame: pd.DataFrame) -> pd.Series:
    """For each row, the Excel row of the first identical activity before it, else <NA>.

    Identical: same date, title (loosely), activity type and modality.
    """
    nomenclature = default_nomenclature()

    def code(reference):
        return lambda v: (entry := reference.match(v)) and entry.code

    keys = pd.DataFrame(
        {
            "date": _by_value(frame["activity_date"], parse_date),
            "title": _by_value(frame["title"], lambda v: v is not None and normalize_label(v)),
            "type": _by_value(frame["activity_type"], code(nomenclature.activity_types)),
            "modality": _by_value(frame["modality"], code(nomenclature.modalities)),
        },
        index=frame.index,
    )
    complete = keys.notna().all(axis=1) & keys.astype(bool).all(axis=1)
    keyed = keys[complete]
    first = keyed.reset_index().groupby(list(keys.columns), sort=False)[keyed.index.name or "index"]
    first_row = pd.Series(first.transform("first").to_numpy(), index=keyed.index)
    out = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    repeated = first_row[first_row != keyed.index.to_series()]
    out.loc[repeated.index] = repeated.astype("int64")
    return out


class ActivityRows(pa.DataFrameModel):
    """Activity rows as written in the ``Activités`` sheet, indexed by Excel row number."""

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
        return _each(s, lambda v: parse_date(v) is not None)

    @pa.check("activity_date", name="weekend_date")
    def _weekend_date(cls, s: pd.Series) -> pd.Series:
        return _each(s, lambda v: (d := parse_date(v)) is None or d.weekday() < 5)

    @pa.dataframe_check(name="date_out_of_year")
    def _date_out_of_year(cls, df: pd.DataFrame) -> pd.Series:
        dates = df["activity_date"].map(parse_date)
        return pd.Series(
            [d is None or d.year == y for d, y in zip(dates, df["year"], strict=True)],
            index=df.index,
        )

    @pa.check("title", name="title_too_long")
    def _title_too_long(cls, s: pd.Series) -> pd.Series:
        return _each(s, lambda v: len(format_value(v) or "") <= MAX_TITLE_LENGTH)

    @pa.check("partners", "comment", name="text_too_long")
    def _text_too_long(cls, s: pd.Series) -> pd.Series:
        return _each(s, lambda v: len(format_value(v) or "") <= MAX_TEXT_LENGTH)

    @pa.check("activity_type", name="activity_type_unknown")
    def _activity_type_unknown(cls, s: pd.Series) -> pd.Series:
        return _matches("activity_type")(s)

    @pa.check("modality", name="modality_unknown")
    def _modality_unknown(cls, s: pd.Series) -> pd.Series:
        return _matches("modality")(s)

    @pa.check("theme", name="theme_unknown")
    def _theme_unknown(cls, s: pd.Series) -> pd.Series:
        return _matches("theme")(s)

    @pa.check("publics", name="publics_unknown")
    def _publics_unknown(cls, s: pd.Series) -> pd.Series:
        return _each(s, lambda v: not unknown_publics(v))

    @pa.check("half_days", name="half_days_not_integer")
    def _half_days_not_integer(cls, s: pd.Series) -> pd.Series:
        return _each(s, _is_whole)

    @pa.check("half_days", name="half_days_out_of_range")
    def _half_days_out_of_range(cls, s: pd.Series) -> pd.Series:
        return _each(s, _whole_in(HALF_DAYS_RANGE))

    @pa.check("half_days", name="half_days_high")
    def _half_days_high(cls, s: pd.Series) -> pd.Series:
        return _each(s, _plausible(HALF_DAYS_WARNING, HALF_DAYS_RANGE[1]))

    @pa.check("participants", name="participants_not_integer")
    def _participants_not_integer(cls, s: pd.Series) -> pd.Series:
        return _each(s, _is_whole)

    @pa.check("participants", name="participants_out_of_range")
    def _participants_out_of_range(cls, s: pd.Series) -> pd.Series:
        return _each(s, _whole_in(PARTICIPANTS_RANGE))

    @pa.check("participants", name="participants_high")
    def _participants_high(cls, s: pd.Series) -> pd.Series:
        return _each(s, _plausible(PARTICIPANTS_WARNING, PARTICIPANTS_RANGE[1]))

    @pa.check("department", name="department_invalid")
    def _department_invalid(cls, s: pd.Series) -> pd.Series:
        return _each(s, lambda v: parse_department(v) is not None)

    @pa.dataframe_check(name="cell_error")
    def _cell_error(cls, df: pd.DataFrame) -> pd.DataFrame:
        return _no_problem(df, "error")

    @pa.dataframe_check(name="formula_without_value")
    def _formula_without_value(cls, df: pd.DataFrame) -> pd.DataFrame:
        return _no_problem(df, "formula")

    @pa.dataframe_check(name="duplicate_activity")
    def _duplicate_activity(cls, df: pd.DataFrame) -> pd.Series:
        return duplicate_of(df).isna()

    class Config:
        strict = False
        coerce = False


def unknown_publics(value: Any) -> list[str]:
    """The labels of a Publics cell that match no public of the reference list."""
    publics = default_nomenclature().publics
    return [label for label in split_publics(value) if publics.match(label) is None]


FIELDS = tuple(name for name in ActivityRows.to_schema().columns if name != "year")


def validate_return(
    path: Path, year: int | None, limits: Limits = DEFAULT_LIMITS
) -> ReturnResult:
    """Read and validate one return received in the inbox folder of ``year``.

    With ``year`` None (a steward checking a file on its own) the year the file declares is
    used and no year-mismatch check is made. A file refused by ``file_guards`` (a link, empty,
    too large, encrypted, a zip bomb) is hashed but never opened by the reader.
    """
    nomenclature = default_nomenclature()
    try:
        sha256 = file_sha256(path)  # a link is hashed by where it points, never followed
        check_file(path, limits)
    except (ReturnFileError, OSError) as err:
        if isinstance(err, OSError):
            err = ReturnFileError("unreadable_file", detail=err.strerror or type(err).__name__)
            sha256 = ""
        hint = identify({}, path, year, nomenclature)  # the centre, if the file name says it
        findings = [file_finding(path, err, nomenclature)]
        return rejected(path, sha256, year or hint.year, findings, hint.centre_code)
    try:
        raw = read_return(path, nomenclature, limits.max_rows, limits.max_columns)
    except ReturnFileError as err:
        identity = identify(err.identification or {}, path, year, nomenclature)
        findings = [file_finding(path, e, nomenclature) for e in [err, *identity.errors]]
        return rejected(path, sha256, year or identity.year, findings, identity.centre_code)
    identity = identify(raw.identification, path, year, nomenclature)
    year = year or identity.year
    if identity.errors or identity.centre_code is None:
        findings = [file_finding(path, e, nomenclature) for e in identity.errors]
        return rejected(
            path, sha256, year, findings, identity.centre_code, identity.template_version
        )

    findings = []
    if raw.extra_columns:
        extra = ReturnFileError(
            "extra_columns", sheet=raw.sheet, row=raw.header_row, value=", ".join(raw.extra_columns)
        )
        findings.append(file_finding(path, extra, nomenclature))
    frame = raw.rows.reindex(columns=list(FIELDS)).astype(object)
    frame = frame.where(frame.notna(), None)
    frame.insert(0, "year", pd.Series(year, index=frame.index, dtype="int64"))
    findings += row_findings(frame, raw, nomenclature)
    quarantined = {f.row_number for f in findings if f.severity == "error" and f.field}
    valid = frame.loc[~frame.index.isin(quarantined)]
    return ReturnResult(
        path=path,
        file_sha256=sha256,
        year=year,
        centre_code=identity.centre_code,
        template_version=identity.template_version,
        rows_read=len(frame),
        activities=to_activities(valid, nomenclature),
        findings=findings,
    )


def row_findings(frame: pd.DataFrame, raw: RawReturn, nomenclature: Nomenclature) -> list[Finding]:
    """Run ``ActivityRows`` lazily on ``frame`` and turn every failure into a ``Finding``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ActivityRows.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
    else:
        return []
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
            context["value"] = " ; ".join(unknown_publics(raw_value))
        elif rule in ("title_too_long", "text_too_long"):
            context["length"] = french_number(len(format_value(raw_value) or ""))
        elif rule == "weekend_date":
            context["weekday"] = weekday_fr(parse_date(raw_value))
        elif rule == "duplicate_activity":
            if duplicates is None:
                duplicates = duplicate_of(frame)
            context["first_row"] = int(duplicates.at[source_row])
        findings.append(
            _row_finding(raw, field_name, source_row, raw_value, rule, context, nomenclature)
        )
    findings.sort(key=lambda f: (f.row_number, FIELDS.index(f.field), f.rule))
    return findings


def _failed_cells(cases: pd.DataFrame, nomenclature: Nomenclature):
    """(rule, field, Excel row) of each failed cell in Pandera's ``failure_cases``.

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


def _row_finding(raw, field_name, source_row, raw_value, rule, context, nomenclature) -> Finding:
    column = raw.columns.get(field_name)
    label = column[1] if column else _canonical_label(field_name, nomenclature)
    context.setdefault("column", label)
    return Finding(
        file_name=display_name(raw.path),
        sheet=raw.sheet,
        row_number=source_row,
        cell=f"{column_letter(column[0])}{source_row}" if column else None,
        column_label=label,
        field=field_name,
        value=format_value(raw_value),
        rule=rule,
        severity=nomenclature.severity(rule),
        message=nomenclature.message(rule, **context),
    )


def _canonical_label(field_name: str, nomenclature: Nomenclature) -> str:
    return next(c.label for c in nomenclature.columns if c.field == field_name)


def _text(value: Any) -> str | None:
    text = format_value(value)
    return text.strip() if text and text.strip() else None


def to_activities(valid: pd.DataFrame, nomenclature: Nomenclature) -> pd.DataFrame:
    """Typed activities (``model.ACTIVITY_COLUMNS``) from rows that passed every error rule."""
    if valid.empty:
        return empty_activities()
    types, modalities, themes, publics = (
        nomenclature.activity_types,
        nomenclature.modalities,
        nomenclature.themes,
        nomenclature.publics,
    )

    def codes(column: str, reference) -> list[str]:
        return [reference.match(v).code for v in valid[column]]

    return pd.DataFrame(
        {
            "source_row": valid.index.tolist(),
            "activity_date": [parse_date(v) for v in valid["activity_date"]],
            "title": [_text(v) for v in valid["title"]],
            "activity_type_code": codes("activity_type", types),
            "modality_code": codes("modality", modalities),
            "theme_code": codes("theme", themes),
            "half_days": [parse_whole(v) for v in valid["half_days"]],
            "participants": [parse_whole(v) for v in valid["participants"]],
            "department": [parse_department(v) for v in valid["department"]],
            "partners": [_text(v) for v in valid["partners"]],
            "comment": [_text(v) for v in valid["comment"]],
            "public_codes": [
                tuple(dict.fromkeys(publics.match(p).code for p in split_publics(v)))
                for v in valid["publics"]
            ],
        },
        columns=list(ACTIVITY_COLUMNS),
        dtype=object,
    )
