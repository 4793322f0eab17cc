"""Tiny returns written with openpyxl for the tests, the way centres write them."""

from __future__ import annotations

import datetime as dt
import zipfile
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


def rename_sheets(path: Path, names: dict[str, str]) -> Path:
    """Rename sheets of an ``.xlsx`` in its ``workbook.xml``, including names openpyxl refuses
    (``Act[1]``, ``A/B``, ``'Activ'``, two names differing only in case), as Excel's own
    files or other tools may hold them."""
    from xml.sax.saxutils import quoteattr

    with zipfile.ZipFile(path) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()}
    xml = parts["xl/workbook.xml"].decode()
    for old, new in names.items():
        assert f'name="{old}"' in xml, old
        xml = xml.replace(f'name="{old}"', f"name={quoteattr(new)}")
    parts["xl/workbook.xml"] = xml.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in parts.items():
            target.writestr(name, data)
    return path


_ODS_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
)


def write_ods(path: Path, sheets: dict[str, Sequence[Sequence[Any]]]) -> Path:
    """A minimal OpenDocument spreadsheet: one table per sheet (names of any length), cells
    as strings, numbers and dates."""
    from xml.sax.saxutils import escape, quoteattr

    def cell(value: Any) -> str:
        if value is None:
            return "<table:table-cell/>"
        if isinstance(value, dt.date):
            attrs = f'office:value-type="date" office:date-value="{value.isoformat()}"'
        elif isinstance(value, int | float):
            attrs = f'office:value-type="float" office:value="{value}"'
        else:
            attrs = 'office:value-type="string"'
        return f"<table:table-cell {attrs}><text:p>{escape(str(value))}</text:p></table:table-cell>"

    tables = "".join(
        f"<table:table table:name={quoteattr(name)}>"
        + "".join(
            "<table:table-row>" + "".join(cell(v) for v in r) + "</table:table-row>" for r in rows
        )
        + "</table:table>"
        for name, rows in sheets.items()
    )
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_ODS_NS} '
        'office:version="1.2"><office:body><office:spreadsheet>'
        f"{tables}</office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
        'manifest:version="1.2"><manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "mimetype", "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED
        )
        archive.writestr("META-INF/manifest.xml", manifest)
        archive.writestr("content.xml", content)
    return path
