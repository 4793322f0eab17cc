"""The « Décisions » sheet of the stewards' overview: what awaits a decision, filled and read back.

``decisions_sheet`` writes one row per item awaiting a steward (``warehouse.awaiting.Pending``,
passed by the caller): centre, file, what is to decide and why, a « Décision » drop-down holding
only the decisions that item allows, a « Motif » to type, then the file's SHA-256 and the item's
key, locked, which make each row name exactly one finding or return of exactly one file.
``read_decisions`` reads a filled sheet back (``crpv review --apply``): the rows with a decision,
with their place in the sheet for messages. Stays out: whether a row still applies and what
recording it does (``cli_review``, ``warehouse.review``), SQL, Dagster.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.datavalidation import DataValidation

from crpv_pipeline.intake.reading import open_workbook
from crpv_pipeline.model import ReturnFileError
from crpv_pipeline.outputs.workbook_cells import wrapped_lines
from crpv_pipeline.reference.refdata import default_nomenclature
from crpv_pipeline.warehouse.decisions import DECISION_LABELS

DECISIONS_SHEET = "Décisions"
HEADER_ROW = 6
DECISION_HEADER, REASON_HEADER = "Décision", "Motif"
SHA_HEADER, KEY_HEADER = "Empreinte du fichier (ne pas modifier)", "Clé (ne pas modifier)"
COLUMNS = {
    "Centre": 17,
    "Fichier": 32,
    "À décider": 34,
    "Règle": 26,
    "Emplacement": 16,
    "Message": 60,
    DECISION_HEADER: 14,
    REASON_HEADER: 40,
    SHA_HEADER: 20,
    KEY_HEADER: 20,
}
WHAT = {
    "finding": "Avertissement : accepter s'il est juste",
    "held": "Bilan retenu (non mis en vigueur) : confirmer pour qu'il remplace le précédent, ou "
    "écarter",
    "dropped": "Bilan avec nombreuses activités en moins : confirmer ou écarter",
    "stray": "Second fichier du centre, rejeté : écarter s'il a été envoyé par erreur",
    "approval": "Approuver le bilan du centre pour l'année",
}
APPROVAL_NOTE = {
    "received": " (après avoir traité ses constats ci-dessus)",
    "reviewed": " (rien d'ouvert)",
}
WRAPPED = 8
"""The columns up to « Motif » wrap their text (the fingerprint and the key stay on one line)."""
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
GREY = Font(color="808080", size=8)


def decisions_sheet(workbook: Workbook, year: int, items: Sequence, index: int = 1) -> None:
    """Add the « Décisions » sheet for ``items`` (``Pending``) to ``workbook`` at ``index``."""
    ws = workbook.create_sheet(DECISIONS_SHEET, index)
    labels = default_nomenclature().rule_label
    ws["A1"] = f"Bilans {year} : décisions à prendre"
    ws["A1"].font = Font(bold=True, size=14)
    ws["A2"] = (
        "Pour chaque ligne à trancher, choisissez la décision dans la colonne « Décision » (liste"
        " déroulante) et écrivez-en la raison dans la colonne « Motif ». Laissez vide ce qui"
        " attend encore : rien n'est enregistré pour cette ligne."
    )
    ws["A3"] = (
        "Accepter : l'avertissement est juste (par exemple, l'atelier du samedi a bien eu lieu)."
        " Confirmer : le bilan retenu remplace le précédent. Écarter : le fichier est retiré de"
        " l'année et le bilan précédent reste en vigueur. Approuver : le bilan du centre est"
        " validé pour le bilan national."
    )
    ws["A4"] = (
        f"Enregistrement : crpv review --year {year} --apply <ce fichier> (dit ce qui sera"
        " enregistré), puis la même commande avec --record. Une ligne dont le fichier a été"
        " remplacé depuis n'est jamais appliquée."
    )
    for row in (2, 3, 4):
        ws.cell(row, 1).alignment = Alignment(wrap_text=True, vertical="top")
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=8)
        ws.row_dimensions[row].height = 32
    for column, (label, width) in enumerate(COLUMNS.items(), start=1):
        cell = ws.cell(HEADER_ROW, column, label)
        cell.font, cell.fill = Font(bold=True), HEADER_FILL
        cell.alignment = Alignment(vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(column)].width = width
    ws.row_dimensions[HEADER_ROW].height = 30  # « Empreinte du fichier (ne pas modifier) »
    validations: dict[tuple[str, ...], DataValidation] = {}
    for offset, item in enumerate(items, start=HEADER_ROW + 1):
        what = WHAT[item.kind] + (APPROVAL_NOTE.get(item.approval, "") if item.approval else "")
        values = (
            item.centre_code,
            item.file_name,
            what,
            labels(item.rule) if item.rule else None,
            item.location,
            item.message,
            None,
            None,
            item.file_sha256,
            item.subject,
        )
        for column, value in enumerate(values, start=1):
            cell = ws.cell(offset, column)
            cell.value = value
            if isinstance(value, str):
                cell.data_type = "s"  # file names and messages stay text, never a formula
            cell.alignment = Alignment(vertical="top", wrap_text=column <= WRAPPED)
        for column in (7, 8):
            ws.cell(offset, column).fill = INPUT_FILL
            ws.cell(offset, column).protection = Protection(locked=False)
        for column in (9, 10):
            ws.cell(offset, column).font = GREY
        widths = list(COLUMNS.values())[:WRAPPED]
        lines = (wrapped_lines(v, w) for v, w in zip(values, widths, strict=False))
        ws.row_dimensions[offset].height = 15 * max(2, *lines)
        choices = tuple(DECISION_LABELS[c] for c in item.choices)
        if choices not in validations:
            validations[choices] = _drop_down(choices)
            ws.add_data_validation(validations[choices])
        validations[choices].add(ws.cell(offset, 7))
    last = HEADER_ROW + max(len(items), 1)
    ws.auto_filter.ref = f"A{HEADER_ROW}:{get_column_letter(len(COLUMNS))}{last}"
    ws.freeze_panes = f"A{HEADER_ROW + 1}"
    ws.protection.sheet = True  # only « Décision » and « Motif » can be typed in
    ws.protection.autoFilter = False
    ws.protection.sort = False
    ws.protection.formatColumns = False
    ws.protection.formatRows = False
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def _drop_down(choices: tuple[str, ...]) -> DataValidation:
    validation = DataValidation(
        type="list",
        formula1='"' + ",".join(choices) + '"',
        allow_blank=True,
        showDropDown=False,  # openpyxl's name: False shows the arrow
        showErrorMessage=True,
        showInputMessage=True,
        errorTitle="Décision",
        error="Choisissez une décision dans la liste, ou laissez la cellule vide.",
        promptTitle="Décision",
        prompt=f"Choisissez : {' ou '.join(choices)} ; laissez vide pour ne rien décider.",
    )
    return validation


@dataclass(frozen=True)
class SheetDecision:
    """A row of a filled « Décisions » sheet that carries a decision."""

    row: int
    centre_code: str | None
    file_name: str | None
    file_sha256: str
    subject: str
    decision: str | None
    """The decision's code (``accept``…), None when the cell holds something else."""
    label: str
    reason: str


class OverviewError(ValueError):
    """A file that is no stewards' overview with a « Décisions » sheet; the message says why."""


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_CODES: Mapping[str, str] = {_plain(label): code for code, label in DECISION_LABELS.items()}


def read_decisions(path: Path) -> tuple[int | None, list[SheetDecision]]:
    """The year of the sheet (from its title) and its rows that carry a decision, in order."""
    try:  # a workbook from outside, like a return: the file guards first
        workbook = open_workbook(path)
    except ReturnFileError as err:
        reason = default_nomenclature().message(err.rule, **err.context)
        raise OverviewError(f"{path}: cannot be read: {reason}") from err
    try:
        if DECISIONS_SHEET not in workbook.sheet_names:
            raise OverviewError(f"{path}: no sheet « {DECISIONS_SHEET} » (a stewards' overview?)")
        try:
            cells = workbook.get_sheet_by_name(DECISIONS_SHEET).to_python(skip_empty_area=False)
        except ReturnFileError as err:
            reason = default_nomenclature().message(err.rule, **err.context)
            raise OverviewError(f"{path}: cannot be read: {reason}") from err
    finally:
        workbook.close()
    title = str(cells[0][0]) if cells and cells[0] else ""
    rows = cells[HEADER_ROW - 1 :]
    header = [str(v).strip() if v is not None else "" for v in (rows[0] if rows else ())]
    missing = [h for h in COLUMNS if h not in header]
    if missing:
        raise OverviewError(
            f"{path}: sheet « {DECISIONS_SHEET} », row {HEADER_ROW}: no column {missing[0]!r}"
        )
    at = {h: header.index(h) for h in COLUMNS}
    found = []
    for number, values in enumerate(rows[1:], start=HEADER_ROW + 1):
        line = list(values) + [None] * (len(header) - len(values))
        label = line[at[DECISION_HEADER]]
        if label is None or not str(label).strip():
            continue
        found.append(
            SheetDecision(
                row=number,
                centre_code=_text(line[at["Centre"]]),
                file_name=_text(line[at["Fichier"]]),
                file_sha256=_text(line[at[SHA_HEADER]]) or "",
                subject=_text(line[at[KEY_HEADER]]) or "",
                decision=_CODES.get(_plain(str(label))),
                label=str(label).strip(),
                reason=_text(line[at[REASON_HEADER]]) or "",
            )
        )
    year = _TITLE.match(title)
    return (int(year.group(1)) if year else None), found


_TITLE = re.compile(r"Bilans (\d{4}) : décisions à prendre")


def _text(value: object) -> str | None:
    return None if value is None else str(value).strip() or None
