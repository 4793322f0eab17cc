"""Correction workbooks: what a centre must fix, shown on a copy of the return it sent.

``write_correction_workbook`` turns one validated return into an ``.xlsx`` a steward can send
back as it is: a French table of the findings, then the centre's own sheets copied cell for cell
(a finding at ``Activités!D14`` points at ``D14`` of the copy), the cells to fix filled and
commented. ``write_steward_overview`` writes a year's completeness and findings for the stewards.
What stays out: judging values (``validation``), SQL and Dagster (callers read the warehouse
tables and pass DataFrames), sending mail. Every string is written as text, never as a formula:
a cell such as ``=1+1`` taken from a return must not run in the reader's spreadsheet.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import python_calamine
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import coordinate_to_tuple
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.worksheet import Worksheet

from crpv_pipeline.model import FINDING_FIELDS, Finding, ReturnResult
from crpv_pipeline.parsing import format_value, french_count, french_number
from crpv_pipeline.reading import SUPPORTED_SUFFIXES, open_workbook
from crpv_pipeline.refdata import default_nomenclature, normalize_label

CORRECTIONS_SHEET = "Corrections à apporter"
CORRECTIONS_PREFIX = "corrections_"
"""Every correction workbook's file name starts with this."""
COMPLETENESS_SHEET = "Complétude"
FINDINGS_SHEET = "Constats"
AUTHOR = "Pipeline CRPV"
SEVERITY_LABELS = {"error": "Erreur", "warning": "Avertissement"}
STATUS_LABELS = {
    "missing": "Manquant",
    "rejected": "Rejeté",
    "loaded_with_errors": "Chargé avec erreurs",
    "loaded": "Chargé",
    "superseded": "Remplacé",
}
ERROR_FILL = PatternFill("solid", fgColor="FFC7CE")
WARNING_FILL = PatternFill("solid", fgColor="FFEB9C")
LOADED_FILL = PatternFill("solid", fgColor="C6EFCE")
HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
STATUS_FILLS = {
    "missing": ERROR_FILL,
    "rejected": ERROR_FILL,
    "loaded_with_errors": WARNING_FILL,
    "loaded": LOADED_FILL,
}
DATE_FORMAT = "DD/MM/YYYY"
DATETIME_FORMAT = "DD/MM/YYYY HH:MM"
MAX_TEXT = 32_767  # longest text an Excel cell holds
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9]+")  # a run becomes "-" if it holds one, else "_"
# Tables: header → column width.
_TABLE_COLUMNS = {"Cellule": 18, "Colonne": 24, "Valeur saisie": 24, "Règle": 26, "Gravité": 15}
_TABLE_COLUMNS["Message"] = 80
_OVERVIEW_COLUMNS = {"Code": 16, "Centre": 50, "Statut": 20, "Reçu le (UTC)": 18}
_OVERVIEW_COLUMNS |= {"Lignes chargées": 12, "Erreurs": 10, "Avertissements": 15}
_FINDINGS_COLUMNS = {"Centre": 16, "Fichier": 28} | {**_TABLE_COLUMNS, "Message": 70}
_COMPLETENESS_FIELDS = ["centre_code", "status", "submission_id", "received_at", "rows_loaded"]
_COMPLETENESS_FIELDS += ["n_errors"]


def correction_file_name(result: ReturnResult) -> str:
    """A safe file name: ``corrections_IREV_2021_<original stem>.xlsx`` (ASCII, no separators)."""
    centre = _safe_part(result.centre_code or "") or "centre_inconnu"
    year = str(result.year) if result.year else "annee_inconnue"
    stem = _safe_part(Path(result.file_name).stem)[:80].strip("_-") or "bilan"
    return f"{CORRECTIONS_PREFIX}{centre}_{year}_{stem}.xlsx"


def _safe_part(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _UNSAFE_NAME.sub(lambda m: "-" if "-" in m[0] else "_", ascii_text).strip("_-")


def write_correction_workbook(result: ReturnResult, out: Path) -> Path:
    """Write the correction workbook of one return and return its path.

    ``out`` is the ``.xlsx`` file to write, or else a folder (created if needed) that receives
    ``correction_file_name(result)``.

    Sheets: ``Corrections à apporter`` (summary and one row per finding), then a copy of every
    sheet of the source file at the same cell positions, error cells red and warning cells amber,
    each with a comment. When the source cannot be re-read, only the corrections sheet is written.
    """
    if out.suffix.lower() != ".xlsx":
        out = out / correction_file_name(result)
    findings = sorted_findings(result.findings)
    workbook = Workbook()
    table = workbook.active
    table.title = CORRECTIONS_SHEET
    copies = _copy_sheets(workbook, result.path)
    _corrections_sheet(table, result, findings, copies)
    _mark_cells(copies, findings)
    out.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(out)
    return out


def sorted_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Findings in reading order: those without a row first, then by sheet, row and column."""
    findings = list(findings)
    sheets = list(dict.fromkeys(f.sheet for f in findings if f.sheet))
    return sorted(findings, key=lambda f: _position(f, sheets))


def _position(finding: Finding, sheets: list[str]) -> tuple[int, int, int, int]:
    """Sort key of a finding; ``sheets`` gives the order of the sheets."""
    if finding.row_number is None:
        return (0, 0, 0, 0)
    sheet = sheets.index(finding.sheet) if finding.sheet in sheets else len(sheets)
    column = coordinate_to_tuple(finding.cell)[1] if finding.cell else 0
    return (1, sheet, finding.row_number, column)


def _corrections_sheet(
    ws: Worksheet, result: ReturnResult, findings: list[Finding], copies: dict[str, Worksheet]
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
        "(rouge : erreur à corriger ; orange : avertissement à vérifier). "
        if copies
        else ""
    ) + "Corrigez votre fichier d'origine puis renvoyez-le."
    _put(ws, 1, 1, title).font = Font(bold=True, size=14)
    _put(ws, 2, 1, counts)
    _put(ws, 3, 1, how).font = Font(italic=True)
    header_row = 5
    rows = [_finding_row(f) for f in findings]
    _table(ws, header_row, _TABLE_COLUMNS, rows, wrap=(2, 3, 6))
    for offset, finding in enumerate(findings, start=header_row + 1):
        ws.cell(offset, 5).fill = _fill(finding.severity)
        target = _target(finding)
        if finding.sheet in copies and target:
            sheet = copies[finding.sheet].title.replace("'", "''")
            link = ws.cell(offset, 1)
            link.hyperlink = Hyperlink(ref=link.coordinate, location=f"'{sheet}'!{target}")
            link.font = Font(color="0563C1", underline="single")
    ws.print_title_rows = f"{header_row}:{header_row}"


def _finding_row(f: Finding) -> tuple[Any, ...]:
    """Cellule, Colonne, Valeur saisie, Règle, Gravité, Message."""
    severity = SEVERITY_LABELS.get(f.severity, f.severity)
    return (f.location, f.column_label, f.value, f.rule, severity, f.message)


def _target(finding: Finding) -> str | None:
    """The cell a finding points at: its cell, else the first cell of its row."""
    if finding.cell:
        return finding.cell
    return f"A{finding.row_number}" if finding.row_number else None


def _copy_sheets(workbook: Workbook, path: Path) -> dict[str, Worksheet]:
    """Copy every sheet of the source file, cell for cell; {} when it cannot be re-read."""
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        return {}
    try:
        source = open_workbook(path)
    except Exception:  # calamine raises several exception types; the finding already says why
        return {}
    copies: dict[str, Worksheet] = {}
    try:
        for sheet in source.sheets_metadata:
            name = sheet.name
            if normalize_label(name) == normalize_label(CORRECTIONS_SHEET):
                continue  # our own table in a correction workbook sent back as a return
            try:
                rows = source.get_sheet_by_name(name).to_python(skip_empty_area=False)
            except Exception:  # one unreadable sheet: the others are still worth showing
                continue
            ws = workbook.create_sheet(name[:31])
            copies[name] = ws
            _write_rows(ws, rows)
            if sheet.visible != python_calamine.SheetVisibleEnum.Visible:
                ws.sheet_state = "hidden"  # shown again below if a finding points there
    finally:
        source.close()
    return copies


def _write_rows(ws: Worksheet, rows: Sequence[Sequence[Any]]) -> None:
    widths: dict[int, int] = {}
    for row_number, values in enumerate(rows, start=1):
        for column, value in enumerate(values, start=1):
            if value is None or value == "":
                continue
            _put(ws, row_number, column, value)
            shown = len(format_value(value) or "")
            widths[column] = max(widths.get(column, 0), shown)
    for column, width in widths.items():
        ws.column_dimensions[get_column_letter(column)].width = min(max(width + 2, 8), 35)
    ws.print_options.gridLines = True
    _landscape(ws)


def _mark_cells(copies: dict[str, Worksheet], findings: list[Finding]) -> None:
    """Fill and comment the cells of the copies that findings point at (error wins)."""
    marks: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        target = _target(finding)
        if finding.sheet in copies and target:
            marks.setdefault((finding.sheet, target), []).append(finding)
    for (sheet, target), group in marks.items():
        copies[sheet].sheet_state = "visible"
        cell = copies[sheet][target]
        worst = "error" if any(f.severity == "error" for f in group) else "warning"
        cell.fill = _fill(worst)
        text = "\n\n".join(
            f"{SEVERITY_LABELS.get(f.severity, f.severity)} ({f.rule}) : {f.message}" for f in group
        )
        comment = Comment(_clean_text(text), AUTHOR)
        comment.width = 360
        comment.height = min(60 + 18 * (len(text) // 55 + 2 * len(group)), 500)
        cell.comment = comment


def write_steward_overview(
    year: int,
    completeness: pd.DataFrame,
    findings: pd.DataFrame,
    out: Path,
    centre_names: Mapping[str, str],
) -> Path:
    """Write the stewards' workbook of ``year`` to ``out`` and return its path.

    ``out`` is the ``.xlsx`` file to write, or else a folder that receives
    ``suivi_bilans_<year>.xlsx``.

    ``completeness`` and ``findings`` hold rows of the warehouse tables ``completeness`` and
    ``validation_failure`` (other years are left out). ``Complétude``: one row per expected
    centre, centres to chase first; warnings are counted on each centre's current submission.
    ``Constats``: every finding given, by centre, file and position.
    """
    if out.suffix.lower() != ".xlsx":
        out = out / f"suivi_bilans_{year}.xlsx"
    if "year" in completeness:
        completeness = completeness.loc[completeness["year"] == year]
    if "year" in findings:
        findings = findings.loc[findings["year"] == year]
    completeness = completeness.reindex(columns=_COMPLETENESS_FIELDS)
    findings = findings.reindex(columns=[*FINDING_FIELDS, "submission_id", "centre_code"])
    workbook = Workbook()
    _completeness_sheet(workbook.active, year, completeness, findings, centre_names)
    _findings_sheet(workbook.create_sheet(FINDINGS_SHEET), year, findings)
    out.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(out)
    return out


def _completeness_sheet(ws, year, completeness, findings, centre_names) -> None:
    ws.title = COMPLETENESS_SHEET
    warning_rows = findings.loc[findings["severity"] == "warning", "submission_id"]
    warnings = {int(s): n for s, n in warning_rows.value_counts().items() if not _blank(s)}
    order = {status: rank for rank, status in enumerate(STATUS_LABELS)}
    records = sorted(
        completeness.to_dict("records"),
        key=lambda r: (order.get(r["status"], len(order)), str(r["centre_code"])),
    )
    rows = [
        (
            r["centre_code"],
            centre_names.get(r["centre_code"], ""),
            STATUS_LABELS.get(r["status"], r["status"]),
            _timestamp(r["received_at"]),
            r["rows_loaded"],
            r["n_errors"],
            0 if _blank(r["submission_id"]) else warnings.get(int(r["submission_id"]), 0),
        )
        for r in records
    ]
    per_status = pd.Series([r["status"] for r in records], dtype=object).value_counts()
    parts = [
        french_count(int(per_status[s]), STATUS_LABELS[s].lower(), _plural_status(s))
        for s in STATUS_LABELS
        if s in per_status
    ]
    _put(ws, 1, 1, f"Bilans {year} : complétude des retours").font = Font(bold=True, size=14)
    _put(
        ws,
        2,
        1,
        " · ".join([french_count(len(records), "centre attendu", "centres attendus")] + parts),
    )
    _table(ws, 4, _OVERVIEW_COLUMNS, rows, wrap=(2,))
    for offset, record in enumerate(records, start=5):
        fill = STATUS_FILLS.get(record["status"])
        if fill is not None:
            ws.cell(offset, 3).fill = fill


def _plural_status(status: str) -> str:
    words = STATUS_LABELS[status].lower().split(" ", 1)
    return " ".join([words[0] + "s", *words[1:]])


def _findings_sheet(ws: Worksheet, year: int, findings: pd.DataFrame) -> None:
    pairs = [
        (_scalar(r["centre_code"]), Finding(**{k: _scalar(r[k]) for k in FINDING_FIELDS}))
        for r in findings.to_dict("records")
    ]
    sheets = list(dict.fromkeys(f.sheet for _, f in pairs if f.sheet))
    ordered = sorted(
        pairs, key=lambda p: (str(p[0] or ""), p[1].file_name, _position(p[1], sheets))
    )
    records = [f for _, f in ordered]
    rows = [(centre, f.file_name, *_finding_row(f)) for centre, f in ordered]
    n_errors = sum(f.severity == "error" for f in records)
    _put(ws, 1, 1, f"Bilans {year} : constats de validation").font = Font(bold=True, size=14)
    counts = [
        french_count(n_errors, "erreur"),
        french_count(len(records) - n_errors, "avertissement"),
    ]
    _put(ws, 2, 1, f"{french_count(len(records), 'constat')} : {', '.join(counts)}")
    _table(ws, 4, _FINDINGS_COLUMNS, rows, wrap=(2, 4, 5, 8))
    for offset, (_, finding) in enumerate(ordered, start=5):
        ws.cell(offset, 7).fill = _fill(finding.severity)


def _table(
    ws: Worksheet,
    header_row: int,
    columns: Mapping[str, int],
    rows: Sequence[Sequence[Any]],
    wrap: Sequence[int] = (),
) -> None:
    """A table at ``header_row``: bold frozen header, autofilter, widths, wrapped columns."""
    widths = list(columns.values())
    for column, (label, width) in enumerate(columns.items(), start=1):
        cell = _put(ws, header_row, column, label)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(column)].width = width
    for row_number, values in enumerate(rows, start=header_row + 1):
        lines = 1
        for column, value in enumerate(values, start=1):
            cell = _put(ws, row_number, column, value)
            cell.alignment = Alignment(vertical="top", wrap_text=column in wrap)
            if column in wrap and value:  # spreadsheets do not size wrapped rows on opening
                lines = max(lines, math.ceil(len(str(value)) * 1.15 / widths[column - 1]))
        ws.row_dimensions[row_number].height = 15 * lines
    last = get_column_letter(len(columns))
    ws.auto_filter.ref = f"A{header_row}:{last}{header_row + max(len(rows), 1)}"
    ws.freeze_panes = f"A{header_row + 1}"
    _landscape(ws)


def _landscape(ws: Worksheet) -> None:
    """Print setup: landscape, one page wide."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def _put(ws: Worksheet, row: int, column: int, value: Any) -> Cell:
    """Write ``value`` at (row, column); strings always as text, never as a formula."""
    cell = ws.cell(row=row, column=column)
    value = _scalar(value)
    if isinstance(value, str):
        value = _clean_text(value)
        cell.value = value
        cell.data_type = "s"  # openpyxl reads "=…" as a formula and "#N/A" as an error
        if value.lstrip(" \n").startswith(_FORMULA_START):
            cell.quotePrefix = True  # stays text if the reader edits the cell
        return cell
    cell.value = value
    if isinstance(value, dt.datetime):
        cell.number_format = DATE_FORMAT if value.time() == dt.time(0) else DATETIME_FORMAT
    elif isinstance(value, dt.date):
        cell.number_format = DATE_FORMAT
    return cell


def _clean_text(text: str) -> str:
    """Text an ``.xlsx`` can hold: control characters replaced, at most 32 767 characters."""
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)[:MAX_TEXT]


def _blank(value: Any) -> bool:
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


def _scalar(value: Any) -> Any:
    """A plain Python value from what pandas or calamine hand over (None for blanks)."""
    if _blank(value) or value == "":
        return None
    if isinstance(value, pd.Timestamp):
        return _timestamp(value)
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        value = value.item()
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(value, str | bool | int | dt.date | dt.time | dt.timedelta):
        return value
    return str(value)


def _timestamp(value: Any) -> dt.datetime | str | None:
    """A naive UTC datetime from a timestamp as the warehouse returns it (text or datetime)."""
    if _blank(value):
        return None
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        return str(value)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.to_pydatetime().replace(microsecond=0)


def _fill(severity: str) -> PatternFill:
    return ERROR_FILL if severity == "error" else WARNING_FILL
