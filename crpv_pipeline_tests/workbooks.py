"""Tiny returns written with openpyxl for the tests, the way centres write them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import openpyxl

HEADER = [
    "Date",
    "Intitulé de l'action",
    "Type d'activité",
    "Nombre de demi-journées",
    "Modalité",
    "Thématique principale",
    "Publics",
    "Nombre de participants",
    "Département",
    "Partenaires",
    "Commentaire",
]

VALID_ROW = [
    dt.date(2021, 3, 4),
    "Formation laïcité – module 1",
    "Formation",
    2,
    "Présentiel",
    "Valeurs de la République et laïcité",
    "Élus ; Chefs de projet politique de la ville",
    25,
    "59",
    "DRAJES",
    None,
]


def write_return(
    path: Path,
    rows: Sequence[Sequence[Any]] = (VALID_ROW,),
    *,
    centre: Any = "IREV",
    year: Any = 2021,
    header: Sequence[Any] = HEADER,
    title_rows: Sequence[Sequence[Any]] = (),
    identification: bool = True,
    sheet_name: str = "Activités",
) -> Path:
    """Write a return: an Identification sheet and an activity sheet (header at row 1 + titles)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    if identification:
        ws.title = "Identification"
        ws.append(["Centre de ressources", centre])
        ws.append(["Année", year])
        ws.append(["Version du modèle", 1])
        ws = wb.create_sheet(sheet_name)
    else:
        ws.title = sheet_name
    for row in title_rows:
        ws.append(list(row))
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def row(**changes: Any) -> list[Any]:
    """``VALID_ROW`` with some fields changed, by field name."""
    fields = [
        "activity_date",
        "title",
        "activity_type",
        "half_days",
        "modality",
        "theme",
        "publics",
        "participants",
        "department",
        "partners",
        "comment",
    ]
    values = dict(zip(fields, VALID_ROW, strict=True))
    values.update(changes)
    return [values[f] for f in fields]
