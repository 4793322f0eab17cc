"""One demo return written as an ``.xlsx`` workbook, with the same bytes for the same content.

``write_return`` lays a centre's rows out in its ``CentreStyle`` (optional Identification
sheet, banner and instruction rows, header, data, bordered trailing rows, hidden lists sheet)
and saves it atomically with fixed properties and zip dates, its mtime set to its reception.
What stays out: which rows there are and what they say (``returns``, ``plan``) and how the
centre spells them (``centre_style``).
"""

from __future__ import annotations

import io
import os
import random
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

from crpv_pipeline.atomic import atomic_output
from crpv_pipeline.demo.centre_style import CentreStyle, say
from crpv_pipeline.demo.plan import demo_texts
from crpv_pipeline.reference.refdata import Nomenclature, ReferenceList

_BOLD = Font(bold=True)


def write_return(
    path: Path,
    centre: str,
    year: int,
    style: CentreStyle,
    rows: list,
    nom: Nomenclature,
    columns: ReferenceList,
    rng: random.Random,
) -> int:
    """Write one return as a centre would; give back the Excel row of the header."""
    wb = Workbook()
    ws = wb.active
    if style.identification:
        ws.title = "Identification"
        pairs = [
            ("centre", nom.centres.get(centre).label if style.centre_as_name else centre),
            ("year", str(year) if style.loose_values else year),
            ("template_version", 1),
            ("contact", rng.choice(demo_texts()["contact", ""])),
            ("email", f"bilan@{centre.lower()}.exemple.fr"),
            ("sent_on", style.received.date()),
        ]
        for r, (fld, value) in enumerate(pairs, 1):
            ws.cell(r, 1, say(rng, nom.identification, fld, style.loose_labels)).font = _BOLD
            ws.cell(r, 2, value).number_format = "DD/MM/YYYY" if fld == "sent_on" else "General"
        ws.column_dimensions["A"].width, ws.column_dimensions["B"].width = 28, 60
        ws = wb.create_sheet(style.sheet_name)
    else:
        ws.title = style.sheet_name
    if style.title_rows:  # a merged banner, then instructions
        ws["A1"] = f"Bilan annuel d'activité {year} – {nom.centres.get(centre).label}"
        ws["A1"].font, ws["A1"].alignment = Font(bold=True, size=14), Alignment(horizontal="center")
        ws.merge_cells(f"A1:{get_column_letter(len(style.fields))}1")
    if style.title_rows >= 2:
        ws["A2"] = (
            "Une ligne par action. Utilisez les listes déroulantes pour les types, "
            "modalités et thématiques."
        )
    header_row = style.title_rows + 1
    for c, fld in enumerate(style.fields, 1):
        label = say(rng, columns, fld, style.loose_labels)
        cell = ws.cell(header_row, c, label)
        cell.font, cell.fill = _BOLD, PatternFill("solid", fgColor="DDEBF7")
        ws.column_dimensions[get_column_letter(c)].width = 60 if fld == "title" else 18
    for r, row in enumerate(rows, header_row + 1):
        for c, fld in enumerate(style.fields, 1):
            value = None if row is None else row[0].get(fld)
            if value is not None:
                cell = ws.cell(r, c, value)
                if isinstance(value, date | float):
                    cell.number_format = "DD/MM/YYYY" if isinstance(value, date) else "0.0"
    if style.trailing_rows:  # bordered empty rows, kept by spreadsheets below the data
        thin = Side(style="thin", color="BFBFBF")
        for r in range(header_row + len(rows) + 1, header_row + len(rows) + 16):
            for c in range(1, len(style.fields) + 1):
                ws.cell(r, c).border = Border(left=thin, right=thin, top=thin, bottom=thin)
    ws.freeze_panes = f"A{header_row + 1}"
    if style.lists_sheet:  # the hidden drop-down lists of the official template
        lists = wb.create_sheet("Listes")
        for c, ref in enumerate((nom.activity_types, nom.modalities, nom.themes, nom.publics), 1):
            for r, label in enumerate(ref.labels(), 1):
                lists.cell(r, c, label)
        lists.sheet_state = "hidden"
    _save(wb, path, style.received)
    return header_row


def _save(wb: Workbook, path: Path, stamp: datetime) -> None:
    """Save with fixed properties and zip dates (same content, same bytes); set the mtime."""
    naive = stamp.replace(tzinfo=None)
    wb.properties.creator = wb.properties.lastModifiedBy = "CRPV"
    wb.properties.created, wb.properties.modified = naive - timedelta(days=20), naive
    raw = io.BytesIO()
    ExcelWriter(wb, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED)).save()
    with atomic_output(path) as temp:  # a sensor watching the inbox never sees half a file
        with zipfile.ZipFile(raw) as src, zipfile.ZipFile(temp, "w", zipfile.ZIP_DEFLATED) as dst:
            for item in src.infolist():
                info = zipfile.ZipInfo(item.filename, date_time=naive.timetuple()[:6])
                info.compress_type, info.external_attr = zipfile.ZIP_DEFLATED, 0o644 << 16
                dst.writestr(info, src.read(item.filename))
    os.utime(path, (stamp.timestamp(), stamp.timestamp()))
