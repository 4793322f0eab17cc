"""Correction workbooks: what a centre must fix, shown on a copy of the return it sent.

``write_correction_workbook`` turns one validated return into an ``.xlsx`` a steward can send
back as it is: a French table of the findings, then the centre's own sheets copied cell for cell
(a finding at ``Activités!D14`` points at ``D14`` of the copy), the cells to fix filled and
commented, its sheets renamed where Excel refuses their names (``correction_names``). It writes
with XlsxWriter, which streams a 5 000-row copy several times faster than openpyxl builds one,
through ``atomic_output``: a workbook is whole or absent, and records the SHA-256 of its return.
The labels, colours and cell conversions it shares with the stewards' overview are in
``workbook_cells``. What stays out: judging values (``validation``), SQL
and Dagster (callers pass validated returns), sending mail. Every string is written as text,
never as a formula: a cell such as ``=1+1`` taken from a return must not run in the reader's
spreadsheet.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from openpyxl.utils.cell import coordinate_to_tuple
from xlsxwriter.worksheet import Worksheet

from crpv_pipeline.atomic import atomic_output
from crpv_pipeline.gc_pause import gc_paused
from crpv_pipeline.intake.inbox import received_at
from crpv_pipeline.intake.reading import ReturnFileError, open_workbook
from crpv_pipeline.model import Finding, ReturnResult
from crpv_pipeline.outputs.correction_names import (
    SOURCE_SHA_PROPERTY,
    copy_sheet_names,
    correction_file_name,
)
from crpv_pipeline.outputs.workbook_cells import (
    DATE_FORMAT,
    FORMULA_START,
    HEADER_COLOUR,
    LINK_COLOUR,
    TABLE_COLUMNS,
    Formats,
    clean_text,
    finding_row,
    landscape,
    new_workbook,
    severity_colour,
    sorted_findings,
    write_value,
)
from crpv_pipeline.reference.parsing import format_value, french_count, french_number
from crpv_pipeline.reference.refdata import default_nomenclature, normalize_label
from crpv_pipeline.reference.statuses import SEVERITY_LABELS
from crpv_pipeline.testpoints import pause_point

CORRECTIONS_SHEET = "Corrections à apporter"
AUTHOR = "Pipeline CRPV"
_HEADER_ROW = 5  # 1-based, as the steward sees it
_WRAPPED = (2, 3, 4, 6)  # 1-based columns of TABLE_COLUMNS whose text wraps
_SEVERITY = 4  # 0-based column of TABLE_COLUMNS filled with the severity's colour


@gc_paused()
def write_correction_workbook(
    result: ReturnResult, out: Path, received: dt.datetime | None = None
) -> Path:
    """Write the correction workbook of one return and return its path.

    ``out`` is the ``.xlsx`` file to write, or else a folder (created if needed) that receives
    ``correction_file_name(result)``.

    Sheets: ``Corrections à apporter`` (summary and one row per finding), then a copy of every
    sheet of the source file at the same cell positions, error cells red and warning cells amber,
    each with a comment. When the source cannot be re-read, only the corrections sheet is written.
    The workbook is dated ``received``, when the return was received (naive UTC; by default its
    file's modification time, as the inbox tells it): the same return and findings give the
    same bytes.
    """
    if out.suffix.lower() != ".xlsx":
        out = out / correction_file_name(result)
    findings = sorted_findings(result.findings)
    sources = _source_sheets(result.path)
    names = copy_sheet_names((name for name, _, _ in sources), taken=[CORRECTIONS_SHEET])
    created = received or received_at(result.path) or dt.datetime(result.year or 1980, 1, 1)
    with atomic_output(out) as temp:
        workbook = new_workbook(temp, created, in_memory=True)
        if result.file_sha256:
            workbook.set_custom_property(SOURCE_SHA_PROPERTY, result.file_sha256)
        formats = Formats(workbook)
        table = workbook.add_worksheet(CORRECTIONS_SHEET)
        copies = {name: workbook.add_worksheet(names[name]) for name in names}
        _corrections_sheet(table, formats, result, findings, copies)
        marks = _marks(findings, copies)
        unwritten = dict(copies)
        for name, rows, hidden in sources:
            ws = unwritten.pop(name, None)
            if ws is None:
                continue  # a name given twice: its first sheet only
            _write_copy(ws, formats, rows, marks.get(name, {}))
            if hidden and name not in marks:
                ws.hide()  # shown when a finding points there
        workbook.close()
        pause_point("write_correction_workbook:unrenamed")
    return out


def _corrections_sheet(
    ws: Worksheet,
    formats: Formats,
    result: ReturnResult,
    findings: list[Finding],
    copies: Mapping[str, Worksheet],
) -> None:
    centre = result.centre_code or "centre non identifié"
    entry = default_nomenclature().centres.match(centre) if result.centre_code else None
    name = entry.label if entry else None
    year = result.year or "(année non identifiée)"
    title = f"Bilan {year} — {centre}{f' ({name})' if name else ''} : corrections à apporter"
    counts = (
        f"Fichier reçu : « {result.file_name} » · {french_count(result.n_errors, 'erreur')}, "
        f"{french_count(result.n_warnings, 'avertissement')}"
    )
    if result.rejected:
        counts += " · fichier rejeté : aucune ligne n'a été chargée"
    else:
        counts += (
            f" · {french_count(result.rows_loaded, 'ligne chargée', 'lignes chargées')} "
            f"sur {french_number(result.rows_read)}, "
            f"{french_count(result.rows_rejected, 'ligne écartée', 'lignes écartées')} "
            "jusqu'à correction"
        )
    how = (
        "Les cellules concernées sont surlignées dans la copie de vos feuilles qui suit "
        "(rouge : erreur à corriger ; jaune : avertissement à vérifier). "
        if copies
        else ""
    ) + "Corrigez votre fichier d'origine puis renvoyez-le."
    _text(ws, 0, 0, title, formats, bold=True, font_size=14)
    _text(ws, 1, 0, counts, formats)
    _text(ws, 2, 0, how, formats, italic=True)
    renamed = {name: copy.name for name, copy in copies.items() if copy.name != name}
    if renamed:
        pairs = " ; ".join(f"« {name} » → « {copy} »" for name, copy in renamed.items())
        note = f"Feuilles renommées dans la copie (Excel refuse leur nom) : {pairs}."
        _text(ws, 3, 0, note, formats, italic=True)
    header = _HEADER_ROW - 1
    widths = list(TABLE_COLUMNS.values())
    for column, (label, width) in enumerate(TABLE_COLUMNS.items()):
        ws.set_column(column, column, width)
        header_format = formats.get(
            bold=True, bg_color=HEADER_COLOUR, pattern=1, valign="vcenter", text_wrap=True
        )
        ws.write_string(header, column, label, header_format)
    cells = [formats.cell(valign="top", text_wrap=c + 1 in _WRAPPED) for c in range(len(widths))]
    by_severity = {  # each row's formats: the severity's colour in « Gravité »
        severity: [
            formats.cell(
                valign="top", text_wrap=False, bg_color=severity_colour(severity), pattern=1
            )
            if column == _SEVERITY
            else cell
            for column, cell in enumerate(cells)
        ]
        for severity in {f.severity for f in findings}
    }
    link = formats.get(valign="top", font_color=LINK_COLOUR, underline=1)
    for offset, finding in enumerate(findings, start=header + 1):
        lines = 1
        shown = finding  # the cell as it is named in this workbook
        if finding.sheet in renamed:
            shown = replace(finding, sheet=renamed[finding.sheet])
        values = finding_row(shown)
        for column, (value, cell) in enumerate(
            zip(values, by_severity[finding.severity], strict=True)
        ):
            write_value(ws, offset, column, value, cell)
            if value and column + 1 in _WRAPPED:  # spreadsheets do not size rows on opening
                lines = max(lines, math.ceil(len(str(value)) * 1.15 / widths[column]))
        ws.set_row(offset, 15 * lines)
        target = _target(finding)
        if finding.sheet in copies and target:
            sheet = copies[finding.sheet].name.replace("'", "''")
            ws.write_url(
                offset, 0, f"internal:'{sheet}'!{target}", link, string=clean_text(shown.location)
            )
    ws.autofilter(header, 0, header + max(len(findings), 1), len(TABLE_COLUMNS) - 1)
    ws.freeze_panes(header + 1, 0)
    ws.repeat_rows(header)
    landscape(ws)


def _target(finding: Finding) -> str | None:
    """The cell a finding points at: its cell, else the first cell of its row."""
    if finding.cell:
        return finding.cell
    return f"A{finding.row_number}" if finding.row_number else None


def _source_sheets(path: Path) -> list[tuple[str, list[list[Any]], bool]]:
    """(name, rows, hidden) of every sheet of the source file; [] when it cannot be re-read."""
    try:  # the file guards first, as for its validation: a refused file is never opened
        source = open_workbook(path)
    except ReturnFileError:  # the finding already says why
        return []
    sheets = []
    try:
        for name in source.sheet_names:
            if normalize_label(name) == normalize_label(CORRECTIONS_SHEET):
                continue  # our own table in a correction workbook sent back as a return
            try:
                rows = source.get_sheet_by_name(name).to_python(skip_empty_area=False)
            except Exception:  # one unreadable or oversized sheet: the others are worth showing
                continue
            sheets.append((name, rows, source.is_hidden(name)))
    finally:
        source.close()
    return sheets


def _marks(
    findings: list[Finding], copies: Mapping[str, Worksheet]
) -> dict[str, dict[tuple[int, int], tuple[str, str]]]:
    """Per copied sheet: (row, column) 0-based → (worst severity, comment text)."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        target = _target(finding)
        if finding.sheet in copies and target:
            groups.setdefault((finding.sheet, target), []).append(finding)
    marks: dict[str, dict[tuple[int, int], tuple[str, str]]] = {}
    for (sheet, target), group in groups.items():
        row, column = coordinate_to_tuple(target)
        worst = "error" if any(f.severity == "error" for f in group) else "warning"
        text = "\n\n".join(
            f"{SEVERITY_LABELS.get(f.severity, f.severity)} "
            f"({default_nomenclature().rule_label(f.rule)}) : {f.message}"
            for f in group
        )
        marks.setdefault(sheet, {})[(row - 1, column - 1)] = (worst, clean_text(text))
    return marks


def _write_copy(
    ws: Worksheet,
    formats: Formats,
    rows: Sequence[Sequence[Any]],
    marks: Mapping[tuple[int, int], tuple[str, str]],
) -> None:
    """The source rows at the same positions; marked cells filled and commented."""
    widths: dict[int, int] = {}
    quoted, dates = formats.get(quote_prefix=True), formats.get(num_format=DATE_FORMAT)
    plain = formats.cell()
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            if value is None or value == "" or (r, c) in marks:
                continue
            kind = type(value)
            if kind is str:  # the common cases first, without the general conversion
                text = clean_text(value)
                ws.write_string(
                    r, c, text, quoted if text.lstrip(" \n").startswith(FORMULA_START) else None
                )
                shown = len(text)
            elif kind is float and value.is_integer() and abs(value) < 2**53:
                ws.write_number(r, c, int(value))
                shown = len(str(int(value)))
            elif kind is dt.date or (kind is dt.datetime and value.time() == dt.time(0)):
                ws.write_datetime(r, c, value, dates)  # calamine reads a date cell as a date
                shown = 10
            else:
                write_value(ws, r, c, value, plain)
                shown = len(format_value(value) or "")
            if shown > widths.get(c, 0):
                widths[c] = shown
    for (r, c), (severity, text) in marks.items():
        value = rows[r][c] if r < len(rows) and c < len(rows[r]) else None
        write_value(ws, r, c, value, formats.cell(bg_color=severity_colour(severity), pattern=1))
        height = min(60 + 18 * (len(text) // 55 + 2 * (text.count("\n\n") + 1)), 500)
        ws.write_comment(r, c, text, {"author": AUTHOR, "width": 360, "height": height})
    for column, width in widths.items():
        ws.set_column(column, column, min(max(width + 2, 8), 35))
    ws.hide_gridlines(0)  # gridlines on screen and in print
    landscape(ws)


def _text(ws: Worksheet, row: int, column: int, text: str, formats: Formats, **style) -> None:
    ws.write_string(row, column, clean_text(text), formats.get(**style))
