"""The « Décisions » sheet of the stewards' overview: what awaits a decision, filled and read back.

``decisions_sheet`` writes one row per item awaiting a steward (``warehouse.awaiting.Pending``,
passed by the caller): centre, file, what is to decide and why, a « Décision » drop-down holding
only the decisions that item allows, a « Motif » to type, then the file's SHA-256 and the item's
key, locked, which make each row name exactly one finding or return of exactly one file; the
sheet is protected but for those two columns. ``read_decisions`` reads a filled sheet back
(``crpv review --apply``): the rows with a decision, with their place in the sheet for
messages. Stays out: whether a row still applies and what recording it does (``cli_review``,
``warehouse.review``), SQL, Dagster.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from xlsxwriter.utility import xl_range
from xlsxwriter.worksheet import Worksheet

from crpv_pipeline.intake.reading import open_workbook
from crpv_pipeline.model import ReturnFileError
from crpv_pipeline.outputs.workbook_cells import (
    HEADER_COLOUR,
    Formats,
    landscape,
    wrapped_lines,
    write_value,
)
from crpv_pipeline.reference.refdata import default_nomenclature
from crpv_pipeline.warehouse.decisions import DECISION_LABELS

DECISIONS_SHEET = "Décisions"
HEADER_ROW = 6
"""The row of the header, as people see it (1-based)."""
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
INPUT_COLOUR = "FFF2CC"
DECISION_COLUMN = 6
"""The column of the drop-down (0-based: « Décision »)."""
STATE_COLUMN = len(COLUMNS) - 1
"""The column (0-based) of the first row that says which decisions the sheet takes into account."""


def decisions_sheet(
    ws: Worksheet, formats: Formats, year: int, items: Sequence, as_of: int = 0
) -> None:
    """Fill ``ws``, the « Décisions » sheet, with a row for each of ``items`` (``Pending``).

    ``as_of`` is the id of the latest decision the items take into account, written in the
    sheet (``state_text``) so that a line decided since is never applied from it.

    Each format is made once (``formats``), and one drop-down per set of choices covers every
    row offering that set: a row costs a call to XlsxWriter per cell, nothing per style.
    """
    labels = default_nomenclature().rule_label
    ws.write_string(
        0, 0, f"Bilans {year} : décisions à prendre", formats.get(bold=True, font_size=14)
    )
    notes = [
        "Pour chaque ligne à trancher, choisissez la décision dans la colonne « Décision » (liste"
        " déroulante) et écrivez-en la raison dans la colonne « Motif ». Laissez vide ce qui"
        " attend encore : rien n'est enregistré pour cette ligne.",
        "Accepter : l'avertissement est juste (par exemple, l'atelier du samedi a bien eu lieu)."
        " Confirmer : le bilan retenu remplace le précédent. Écarter : le fichier est retiré de"
        " l'année et le bilan précédent reste en vigueur. Approuver : le bilan du centre est"
        " validé pour le bilan national.",
        f"Enregistrement : crpv review --year {year} --apply <ce fichier> (dit ce qui sera"
        " enregistré), puis la même commande avec --record. Une ligne dont le fichier a été"
        " remplacé depuis, ou sur laquelle une décision a été prise depuis ce classeur, n'est"
        " jamais appliquée.",
    ]
    state = formats.get(valign="top", font_color="808080", font_size=8)
    ws.write_string(0, STATE_COLUMN, state_text(as_of), state)
    note = formats.get(text_wrap=True, valign="top")
    for row, text in enumerate(notes, start=1):
        ws.merge_range(row, 0, row, WRAPPED - 1, text, note)
        ws.set_row(row, 32)
    header = formats.get(
        bold=True, bg_color=HEADER_COLOUR, pattern=1, valign="vcenter", text_wrap=True
    )
    first = HEADER_ROW - 1  # 0-based
    for column, (label, width) in enumerate(COLUMNS.items()):
        ws.set_column(column, column, width)
        ws.write_string(first, column, label, header)
    ws.set_row(first, 30)  # « Empreinte du fichier (ne pas modifier) »
    wrapped = formats.cell(valign="top", text_wrap=True)
    typed = formats.cell(
        valign="top", text_wrap=True, bg_color=INPUT_COLOUR, pattern=1, locked=False
    )
    grey = formats.cell(valign="top", font_color="808080", font_size=8)
    cells = [wrapped] * (WRAPPED - 2) + [typed, typed, grey, grey]
    widths = list(COLUMNS.values())[:WRAPPED]
    spans: dict[tuple[str, ...], list[list[int]]] = {}  # choices → [first, last] rows offering them
    for row, item in enumerate(items, start=first + 1):
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
        for column, (value, cell) in enumerate(zip(values, cells, strict=True)):
            write_value(ws, row, column, value, cell)
        lines = (wrapped_lines(v, w) for v, w in zip(values, widths, strict=False))
        ws.set_row(row, 15 * max(2, *lines))
        rows = spans.setdefault(tuple(DECISION_LABELS[c] for c in item.choices), [])
        if rows and rows[-1][1] == row - 1:
            rows[-1][1] = row
        else:
            rows.append([row, row])
    for choices, rows in spans.items():
        _drop_down(ws, choices, rows)
    ws.autofilter(first, 0, first + max(len(items), 1), len(COLUMNS) - 1)
    ws.freeze_panes(first + 1, 0)
    # only « Décision » and « Motif » can be typed in; filtering, sorting, resizing stay allowed
    ws.protect("", {"autofilter": True, "sort": True, "format_columns": True, "format_rows": True})
    landscape(ws)


def _drop_down(ws: Worksheet, choices: tuple[str, ...], rows: list[list[int]]) -> None:
    """One list of ``choices`` on the « Décision » cells of ``rows`` ([first, last] spans)."""
    column = DECISION_COLUMN
    ws.data_validation(
        rows[0][0],
        column,
        rows[0][1],
        column,
        {
            "validate": "list",
            "source": list(choices),
            "ignore_blank": True,
            "dropdown": True,
            "multi_range": " ".join(xl_range(a, column, b, column) for a, b in rows),
            "input_title": "Décision",
            "input_message": f"Choisissez : {' ou '.join(choices)} ; laissez vide pour ne rien"
            " décider.",
            "error_title": "Décision",
            "error_message": "Choisissez une décision dans la liste, ou laissez la cellule vide.",
        },
    )


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


def state_text(as_of: int) -> str:
    """What the sheet says of the decisions it takes into account (read back by ``_as_of``)."""
    if not as_of:
        return "État : aucune décision enregistrée pour l'année (ne pas modifier)"
    return f"État : à jour de la décision enregistrée n° {as_of} (ne pas modifier)"


def _as_of(cells: list) -> int:
    """The id ``state_text`` wrote in the first row (0 in a workbook without it)."""
    first = cells[0] if cells else []
    text = str(first[STATE_COLUMN]) if len(first) > STATE_COLUMN and first[STATE_COLUMN] else ""
    found = _STATE.search(text)
    return int(found.group(1)) if found else 0


_STATE = re.compile(r"décision enregistrée n° (\d+)")


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_CODES: Mapping[str, str] = {_plain(label): code for code, label in DECISION_LABELS.items()}


def read_decisions(path: Path) -> tuple[int | None, int, list[SheetDecision]]:
    """The sheet's year, the decision it was written after, its rows with a decision or reason.

    The year comes from the title; the latest decision the sheet took into account from its
    first row (0: none, or a sheet that does not say); the rows come in order, a reason without
    a decision with an empty ``label``.
    """
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
        reason = _text(line[at[REASON_HEADER]]) or ""
        if (label is None or not str(label).strip()) and not reason:
            continue
        label = "" if label is None else label
        found.append(
            SheetDecision(
                row=number,
                centre_code=_text(line[at["Centre"]]),
                file_name=_text(line[at["Fichier"]]),
                file_sha256=_text(line[at[SHA_HEADER]]) or "",
                subject=_text(line[at[KEY_HEADER]]) or "",
                decision=_CODES.get(_plain(str(label))),
                label=str(label).strip(),
                reason=reason,
            )
        )
    year = _TITLE.match(title)
    return (int(year.group(1)) if year else None), _as_of(cells), found


_TITLE = re.compile(r"Bilans (\d{4}) : décisions à prendre")


def _text(value: object) -> str | None:
    return None if value is None else str(value).strip() or None
