"""Validation of a return (contract §4): file-level checks and the Pandera row rules.

``activity_rows_schema`` (in ``activity_rows``) is the Pandera schema of the activity rows *as
written* (one object column per field, indexed by Excel row number), built from their normalised
values; every row rule of the contract is one of its checks, named by its rule id in
``reference/data/rules.csv``, which also gives its severity and French message. The checks run
lazily so that every failure of a file is found at once; ``SchemaErrors.failure_cases`` become
``Finding``s that point at the cell as the centre sees it. Rows with an error are quarantined;
the others are converted to typed activities. Nothing here touches a database.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from crpv_pipeline.intake.activity_rows import FIELDS, activity_rows_schema, duplicate_of
from crpv_pipeline.intake.file_checks import file_finding, identify, rejected, removal_findings
from crpv_pipeline.intake.file_guards import DEFAULT_LIMITS, Limits, guard, os_error_text
from crpv_pipeline.intake.normalisation import (
    NormalisedRows,
    normalise,
)
from crpv_pipeline.intake.raw_return import RawReturn, read_return
from crpv_pipeline.intake.reading import ReturnFileError, column_letter, file_sha256
from crpv_pipeline.intake.timing import StageTimer
from crpv_pipeline.model import (
    ACTIVITY_COLUMNS,
    Finding,
    ReturnResult,
    display_name,
    empty_activities,
)
from crpv_pipeline.reference.parsing import (
    format_value,
    french_number,
    parse_date,
    weekday_fr,
)
from crpv_pipeline.reference.refdata import Nomenclature, default_nomenclature

# Dataframe-level checks report a failure for every column of a failing row: the finding is
# kept for the column that the rule is about.
_DATAFRAME_CHECK_FIELD = {"date_out_of_year": "activity_date", "duplicate_activity": "title"}


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
        frame = rows_frame(raw, year)
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


def rows_frame(raw: RawReturn, year: int) -> pd.DataFrame:
    """The frame that ``activity_rows_schema`` validates: the reported ``year`` and every field.

    One row per activity row of ``raw`` (same index, the row keys); a field the return lacks
    is a column of None.
    """
    blank = pd.Series(None, index=raw.rows.index, dtype=object)
    frame = pd.DataFrame(
        {name: raw.rows[name] if name in raw.rows else blank for name in FIELDS},
        index=raw.rows.index,
    )
    frame.insert(0, "year", pd.Series(year, index=frame.index, dtype="int64"))
    return frame


def row_findings(
    frame: pd.DataFrame,
    raw: RawReturn,
    nomenclature: Nomenclature,
    normalised: NormalisedRows | None = None,
) -> list[Finding]:
    """Validate ``frame`` lazily with ``activity_rows_schema``; every failure becomes a ``Finding``.

    ``normalised`` holds the normalised values of ``frame`` (computed here if not given).
    """
    if normalised is None:
        normalised = normalise(frame[list(FIELDS)], nomenclature)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            activity_rows_schema(normalised).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
    else:
        return []
    duplicates = None
    findings = []
    cells: dict[str, dict[int, Any]] = {}  # field → row key → value: one lookup per finding
    for rule, field_name, source_row in _failed_cells(cases, nomenclature):
        for name in (field_name, "year"):
            if name not in cells:
                cells[name] = dict(zip(frame.index.tolist(), frame[name].tolist(), strict=True))
        raw_value = cells[field_name][source_row]
        context: dict[str, Any] = {
            "value": format_value(raw_value),
            "year": cells["year"][source_row],
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
                duplicates = duplicate_of(normalised.values)
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
