"""Build validated returns (``ReturnResult``) in memory, for tests that start after validation."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from crpv_pipeline.model import ACTIVITY_COLUMNS, Finding, ReturnResult, empty_activities

DEFAULT_ACTIVITIES = (
    {
        "activity_date": dt.date(2021, 3, 4),
        "title": "Formation des chefs de projet à l'évaluation",
        "activity_type_code": "FORMATION",
        "modality_code": "PRESENTIEL",
        "theme_code": "EDUCATION",
        "half_days": 4,
        "participants": 20,
        "public_codes": ("CHEFS_PROJET", "ELUS"),
    },
    {
        "activity_date": dt.date(2021, 5, 11),
        "title": "Webinaire laïcité",
        "activity_type_code": "MANIFESTATION",
        "modality_code": "DISTANCIEL",
        "theme_code": "VRL",
        "half_days": 1,
        "participants": None,
        "department": "59",
        "public_codes": (),
    },
    {
        "activity_date": dt.date(2021, 11, 23),
        "title": "Rencontre du réseau santé",
        "activity_type_code": "ACTIVITE_RESEAU",
        "modality_code": "HYBRIDE",
        "theme_code": "SANTE",
        "half_days": 2,
        "participants": 35,
        "partners": "ARS",
        "comment": "Deux séances",
        "public_codes": ("ASSOCIATIONS",),
    },
)


def activity(**values: Any) -> dict[str, Any]:
    """One activity row with every column of ``ACTIVITY_COLUMNS`` (defaults for the rest)."""
    row: dict[str, Any] = dict.fromkeys(ACTIVITY_COLUMNS)
    row.update(
        activity_date=dt.date(2021, 6, 1),
        title="Action",
        activity_type_code="FORMATION",
        modality_code="PRESENTIEL",
        theme_code="EDUCATION",
        half_days=1,
        public_codes=(),
    )
    row.update(values)
    return row


def finding(
    rule: str = "date_invalid",
    severity: str = "error",
    *,
    file_name: str = "IREV_2021.xlsx",
    row_number: int | None = 9,
    cell: str | None = "A9",
    value: str | None = "31/02/2021",
    message: str = "« 31/02/2021 » n'est pas une date valide : saisissez une date JJ/MM/AAAA.",
) -> Finding:
    """A finding on the ``Activités`` sheet (a file-level one when ``row_number`` is None)."""
    return Finding(
        file_name=file_name,
        sheet="Activités" if row_number is not None else None,
        row_number=row_number,
        cell=cell,
        column_label="Date" if cell else None,
        field="activity_date" if cell else None,
        value=value,
        rule=rule,
        severity=severity,
        message=message,
    )


def make_result(
    *,
    year: int = 2021,
    centre_code: str | None = "IREV",
    file_name: str | None = None,
    activities: Sequence[dict[str, Any]] | None = None,
    findings: Sequence[Finding] = (),
    rejected: bool = False,
    rows_read: int | None = None,
    sha256: str | None = None,
    template_version: str | None = "1",
) -> ReturnResult:
    """A validated return. The hash derives from the content unless ``sha256`` is given.

    ``source_row`` is numbered from row 6 of sheet ``Activités`` when the activities do not set
    it; a rejected return carries no activity.
    """
    rows = [activity(**a) for a in (DEFAULT_ACTIVITIES if activities is None else activities)]
    for number, row in enumerate(rows, 6):
        row["source_row"] = row["source_row"] or number
        row["source_sheet"] = row["source_sheet"] or "Activités"
    if rejected:
        rows = []
    frame = pd.DataFrame(rows, columns=list(ACTIVITY_COLUMNS)) if rows else empty_activities()
    name = file_name or f"{centre_code or 'INCONNU'}_{year}.xlsx"
    content = repr((year, centre_code, name, rows, list(findings), rejected)).encode()
    return ReturnResult(
        path=Path("/inbox") / str(year) / name,
        file_sha256=sha256 or hashlib.sha256(content).hexdigest(),
        year=year,
        centre_code=centre_code,
        template_version=template_version,
        rows_read=len(rows) + sum(f.severity == "error" for f in findings if f.row_number)
        if rows_read is None
        else rows_read,
        activities=frame,
        findings=list(findings),
        rejected=rejected,
    )
