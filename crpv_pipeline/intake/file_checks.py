"""File-level checks (contract §4): who and what year a return is for, and file findings.

A file-level error rejects the whole file: this module says which centre and year a return
declares (Identification sheet, else a ``CODE_YEAR`` file name), turns a ``ReturnFileError`` into
a ``Finding`` and builds the rejected result. It also words what the reader did to cells of any
sheet without judging them (control characters removed). Row rules live in ``validation``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from crpv_pipeline.intake.control_characters import (
    RemovedControls,
    escape_unstorable,
    remove_unstorable,
    unstorable_codes,
)
from crpv_pipeline.intake.file_guards import Limits
from crpv_pipeline.intake.raw_return import identify_from_file_name, read_identification
from crpv_pipeline.intake.reading import ReturnFileError, column_letter
from crpv_pipeline.model import (
    Finding,
    IdentificationValue,
    ReturnResult,
    display_name,
    empty_activities,
)
from crpv_pipeline.reference.parsing import format_value, parse_whole
from crpv_pipeline.reference.refdata import Nomenclature


@dataclass
class Identity:
    """Who and what year a return is for, as far as the file tells."""

    centre_code: str | None = None
    year: int | None = None
    template_version: str = "1"
    errors: list[ReturnFileError] = field(default_factory=list)


def identify(
    raw_ident: Mapping[str, IdentificationValue],
    path: Path,
    folder_year: int | None,
    nomenclature: Nomenclature,
) -> Identity:
    """Centre and year from the Identification sheet, else from a ``CODE_YEAR`` file name.

    ``folder_year`` is the year of the inbox folder; None (a file checked on its own) skips the
    year-mismatch check.
    """
    identity = Identity()
    from_name = identify_from_file_name(path)
    centre_cell = raw_ident.get("centre")
    if centre_cell is not None and centre_cell.value is not None:
        entry = nomenclature.centres.match(centre_cell.value)
        if entry is None:
            identity.errors.append(
                _unknown_centre(centre_cell.value, nomenclature, centre_cell.sheet, centre_cell.row)
            )
        else:
            identity.centre_code = entry.code
    elif from_name is not None:
        entry = nomenclature.centres.match(from_name[0])
        if entry is None:
            identity.errors.append(_unknown_centre(from_name[0], nomenclature))
        else:
            identity.centre_code = entry.code
    else:
        identity.errors.append(ReturnFileError("missing_centre", sheet=_sheet_of(centre_cell)))

    year_cell = raw_ident.get("year")
    if year_cell is not None and year_cell.value is not None:
        year = parse_whole(year_cell.value)
        if year is None or not 1900 <= year <= 2100:
            identity.errors.append(
                ReturnFileError(
                    "invalid_year",
                    sheet=year_cell.sheet,
                    row=year_cell.row,
                    column=1,
                    value=year_cell.value,
                )
            )
        else:
            identity.year = year
    elif from_name is not None:
        identity.year = from_name[1]
    else:
        identity.errors.append(ReturnFileError("missing_year", sheet=_sheet_of(year_cell)))
    if folder_year is not None and identity.year is not None and identity.year != folder_year:
        cell = year_cell if year_cell is not None and year_cell.value is not None else None
        identity.errors.append(
            ReturnFileError(
                "year_mismatch",
                sheet=cell.sheet if cell else None,
                row=cell.row if cell else None,
                column=1 if cell else None,
                value=identity.year,
                year=folder_year,
            )
        )
    version = raw_ident.get("template_version")
    if version is not None and version.value is not None:
        identity.template_version = format_value(version.value) or "1"
    return identity


def claimed_centres(path: Path, nomenclature: Nomenclature, limits: Limits) -> frozenset[str]:
    """Every centre a return could turn out to be for, found without validating it.

    The centre of its ``CODE_YEAR`` file name and, once the file guards let it through, the one
    of its Identification sheet (only that sheet is read): validation names one of these, or
    none. The pipeline loads a return early only when no other return claims its centre, since
    two files for one centre must both be rejected (§4).
    """
    claims = set()
    from_name = identify_from_file_name(path)
    if from_name is not None and (entry := nomenclature.centres.match(from_name[0])):
        claims.add(entry.code)
    try:  # the guards of the whole file, but only the Identification sheet's used range
        identification = read_identification(path, nomenclature, limits)
    except (ReturnFileError, OSError):  # validation rejects it, for its file name's centre
        return frozenset(claims)
    centre = identification.get("centre")
    if centre is not None and (entry := nomenclature.centres.match(centre.value)):
        claims.add(entry.code)
    return frozenset(claims)


def _sheet_of(cell: IdentificationValue | None) -> str | None:
    return cell.sheet if cell else None


def _unknown_centre(value, nomenclature, sheet=None, row=None) -> ReturnFileError:
    return ReturnFileError(
        "unknown_centre",
        sheet=sheet,
        row=row,
        column=1 if sheet else None,
        value=value,
        allowed=", ".join(c.code for c in nomenclature.centres),
    )


ENTERED_VALUE_RULES = frozenset(
    {"invalid_year", "unknown_centre", "year_mismatch", "control_characters_removed"}
)
"""File-level rules whose value is one the centre entered (« Valeur saisie »); the others' value
(our column labels, a size, a format, file names) is only said in the message."""
COLUMN_RULES = frozenset({"missing_column", "extra_columns"})
"""File-level rules whose value is a list of column labels: it goes to the column field."""


def file_finding(path: Path, err: ReturnFileError, nomenclature: Nomenclature) -> Finding:
    """The finding of a file-level problem.

    Its value is what the centre entered, never a column name, a size or a file name: those are
    said in the message (and column labels in the column field).
    """
    value = format_value(err.value)
    cell = (
        f"{column_letter(err.column)}{err.row}"
        if err.column is not None and err.row is not None
        else None
    )
    return Finding(
        file_name=display_name(path),
        sheet=err.sheet,
        row_number=err.row,
        cell=cell,
        column_label=value if err.rule in COLUMN_RULES else err.column_label,
        field=None,
        value=value if err.rule in ENTERED_VALUE_RULES else None,
        rule=err.rule,
        severity=nomenclature.severity(err.rule),
        message=nomenclature.message(err.rule, value=value, row=err.row, **err.context),
    )


def removal_findings(
    path: Path, cells: Iterable[RemovedControls], nomenclature: Nomenclature
) -> list[Finding]:
    """A warning per cell whose control characters were removed (``control_characters_removed``).

    Its value is the cell as written with those characters spelled out (``Jean\\x00``); the
    message names them and gives the text stored.
    """
    findings = []
    for cell in cells:
        error = ReturnFileError(
            "control_characters_removed",
            sheet=cell.sheet,
            row=cell.row,
            column=cell.column,
            column_label=cell.column_label,
            value=escape_unstorable(cell.text),
            characters=unstorable_codes(cell.text),
            text=remove_unstorable(cell.text).strip(),
        )
        findings.append(replace(file_finding(path, error, nomenclature), field=cell.field))
    return findings


def rejected(
    path: Path,
    sha256: str,
    year: int | None,
    findings: list[Finding],
    centre_code: str | None = None,
    template_version: str | None = None,
) -> ReturnResult:
    """A rejected return: its file-level findings, no activities."""
    return ReturnResult(
        path=path,
        file_sha256=sha256,
        year=year,
        centre_code=centre_code,
        template_version=template_version,
        rows_read=0,
        activities=empty_activities(),
        findings=findings,
        rejected=True,
    )
