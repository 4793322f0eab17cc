"""The return template (contract §6, ``crpv template``): the empty workbook a centre fills in.

It is built from the same reference data (``refdata``) and the same ranges (``validation``) as
the validator, so the column labels, drop-down lists and bounds offered to a centre never
disagree with the rules that check its return. This module only writes a new ``.xlsx`` with
openpyxl: it reads no return, validates nothing and never touches the warehouse. Expected
failures are ``TemplateError``s; only the CLI turns them into ``Error: …`` and an exit code.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.protection import SheetProtection
from openpyxl.worksheet.worksheet import Worksheet

from crpv_pipeline.atomic import atomic_output
from crpv_pipeline.intake.activity_rows import HALF_DAYS_RANGE, MAX_TITLE_LENGTH, PARTICIPANTS_RANGE
from crpv_pipeline.intake.reading import ACTIVITY_SHEET, IDENTIFICATION_SHEET
from crpv_pipeline.reference.parsing import french_number
from crpv_pipeline.reference.refdata import ColumnSpec, Nomenclature, default_nomenclature

TEMPLATE_VERSION = 1
LISTS_SHEET = "Listes"
HEADER_ROW = 5
"""Row of the Activités header, below the title, the legend and the instructions."""
DATA_ROWS = 5000
LAST_ROW = HEADER_ROW + DATA_ROWS
"""Drop-down lists and checks cover the 5 000 rows below the header (more than any centre's
year); the columns' formats cover every row."""
EMPTY_PARTICIPANTS = (
    "Laissez la cellule vide si vous ne connaissez pas le nombre de participants : elle sera "
    "comptée comme non renseignée, jamais comme 0."
)
EMPTY_OPTIONAL = (
    "Laissez la cellule vide si vous ne connaissez pas l'information : elle sera comptée comme "
    "non renseignée."
)
"""What an empty cell of an optional column means, said in its input messages."""
EMPTY_LEGEND = (
    "Colonnes facultatives : laissez la cellule vide si vous ne connaissez pas l'information ; "
    "elle sera comptée comme non renseignée (un nombre de participants inconnu n'est jamais "
    "compté comme 0)."
)
"""The same, said once for every optional column in the legend above the Activités header."""
YEAR_RANGE = (1900, 2100)
CATEGORY_FIELDS = ("activity_type", "modality", "theme", "publics")
MULTI_VALUE_FIELDS = frozenset({"publics"})
"""Category fields holding several labels separated by « ; »: their list suggests, never refuses."""
DATE_FORMAT = "DD/MM/YYYY"
CREATOR = "ANCT — pipeline CRPV"

_WIDTHS = {"activity_date": 12, "title": 50, "partners": 30, "comment": 40}
_MAX_WIDTH = 45
_PROMPT_TITLE_MAX, _TEXT_MAX = 32, 255  # limits of Excel's input and error messages
_BOLD = Font(bold=True)
_NOTE = Font(italic=True, color="595959")
_REQUIRED_FILL = PatternFill("solid", fgColor="F8CBAD")
_OPTIONAL_FILL = PatternFill("solid", fgColor="DDEBF7")
_INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
_UNLOCKED, _LOCKED = Protection(locked=False), Protection(locked=True)
_WRAP = Alignment(wrap_text=True, vertical="center")


class TemplateError(ValueError):
    """A template that cannot be written as asked (unknown centre, implausible year, format)."""


class UnknownCentre(TemplateError):
    """A centre code that is not in the reference list of centres."""


def write_template(centre_code: str, year: int, path: Path) -> Path:
    """Write the empty return of ``centre_code`` for ``year`` to ``path`` (``.xlsx``).

    The centre may be given by its code or name, matched loosely; ``Identification`` holds its
    code. Raises ``UnknownCentre`` or ``TemplateError``; an existing file is overwritten.
    """
    nomenclature = default_nomenclature()
    centre = nomenclature.centres.match(centre_code)
    if centre is None:
        valid = ", ".join(c.code for c in nomenclature.centres)
        raise UnknownCentre(f"unknown centre {centre_code!r}; valid codes: {valid}")
    if not YEAR_RANGE[0] <= year <= YEAR_RANGE[1]:
        raise TemplateError(f"implausible year {year}: give the reported year, e.g. 2021")
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise TemplateError(f"the template is an .xlsx workbook: name it …/{path.stem}.xlsx")

    wb = Workbook()
    _identification(wb.active, nomenclature, centre.code, centre.label, year)
    lists = _lists(wb.create_sheet(LISTS_SHEET), nomenclature)
    activities = wb.create_sheet(ACTIVITY_SHEET, index=1)
    _activities(activities, nomenclature, year, lists)
    _legend(activities, len(nomenclature.columns), centre.label, year)
    wb.properties.title = f"Bilan annuel d'activité {year} — {centre.label}"
    wb.properties.creator = CREATOR
    with atomic_output(path) as temp:
        wb.save(temp)
    return path


def _identification(
    ws: Worksheet, nomenclature: Nomenclature, code: str, name: str, year: int
) -> None:
    """Labels in A, values in B: centre, year and version locked, the rest for the centre."""
    ws.title = IDENTIFICATION_SHEET
    values = {"centre": code, "year": year, "template_version": TEMPLATE_VERSION}
    row = 0
    for row, entry in enumerate(nomenclature.identification, 1):
        ws.cell(row, 1, entry.label).font = _BOLD
        cell = ws.cell(row, 2, values.get(entry.code))
        cell.alignment = Alignment(horizontal="left")
        if entry.code not in values:
            cell.protection, cell.fill = _UNLOCKED, _INPUT_FILL
        if entry.code == "sent_on":
            cell.number_format = DATE_FORMAT
    ws.cell(1, 3, name).font = _NOTE
    notes = (
        "Complétez les cellules sur fond jaune, puis saisissez une ligne par action dans la "
        f"feuille « {ACTIVITY_SHEET} ».",
        "Les colonnes sur fond orange sont obligatoires ; sélectionnez un en-tête pour lire "
        "la consigne de la colonne.",
    )
    for offset, text in enumerate(notes, 2):
        ws.cell(row + offset, 1, text).font = _NOTE
    ws.column_dimensions["A"].width, ws.column_dimensions["B"].width = 24, 34
    ws.column_dimensions["C"].width = 50
    _fit_to_width(ws, "portrait")
    ws.protection = SheetProtection(sheet=True, formatColumns=False, formatRows=False)


def _lists(ws: Worksheet, nomenclature: Nomenclature) -> dict[str, str]:
    """One column per category list, label in row 1; the range formula of each list's entries."""
    ranges = {}
    specs = {c.field: c for c in nomenclature.columns}
    for col, field_name in enumerate(CATEGORY_FIELDS, 1):
        labels = nomenclature.category(field_name).labels()
        letter = get_column_letter(col)
        ws.cell(1, col, specs[field_name].label).font = _BOLD
        for row, label in enumerate(labels, 2):
            ws.cell(row, col, label)
        ws.column_dimensions[letter].width = _width(field_name, labels)
        ranges[field_name] = f"{LISTS_SHEET}!${letter}$2:${letter}${len(labels) + 1}"
    ws.sheet_state = "hidden"
    ws.protection = SheetProtection(sheet=True)
    return ranges


def _activities(
    ws: Worksheet, nomenclature: Nomenclature, year: int, lists: dict[str, str]
) -> None:
    """The header row, locked, with its instructions; data cells unlocked and checked."""
    first = HEADER_ROW + 1
    for col, spec in enumerate(nomenclature.columns, 1):
        letter = get_column_letter(col)
        cell = ws.cell(HEADER_ROW, col, spec.label)
        cell.font, cell.alignment = _BOLD, _WRAP
        cell.fill = _REQUIRED_FILL if spec.required else _OPTIONAL_FILL
        empty = _empty_meaning(spec)
        status = "Colonne obligatoire." if spec.required else f"Colonne facultative. {empty}"
        _add(ws, DataValidation(), f"{letter}{HEADER_ROW}", spec.label, f"{spec.help} {status}")

        column = ws.column_dimensions[letter]
        labels = nomenclature.category(spec.field).labels() if spec.field in lists else []
        column.width = _width(spec.field, labels)
        column.protection = _UNLOCKED  # column style: every cell below the header is editable
        if spec.field == "activity_date":
            column.number_format = DATE_FORMAT
        elif spec.field == "department":
            column.number_format = "@"  # text, so that « 01 » keeps its zero
        rule = _data_rule(spec, nomenclature, year, lists)
        if rule is None and empty:
            rule = DataValidation()  # any value: only the input message
        prompt = rule.prompt if rule is not None else None
        if empty and (prompt is None or len(f"{prompt} {empty}") <= _TEXT_MAX):
            prompt = f"{prompt or spec.help} {empty}"
        if rule is not None:
            _add(ws, rule, f"{letter}{first}:{letter}{LAST_ROW}", spec.label, prompt)
    ws.row_dimensions[HEADER_ROW].height = 45
    ws.freeze_panes = f"A{first}"
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    _fit_to_width(ws, "landscape")
    ws.protection = SheetProtection(
        sheet=True,
        formatColumns=False,
        formatRows=False,
        insertRows=False,
        deleteRows=False,
        sort=False,
        autoFilter=False,
    )  # guard rails against editing the header, without a password


def _legend(ws: Worksheet, width: int, centre: str, year: int) -> None:
    """Above the header: title, colour legend, what an empty cell means, where to start.

    Every cell above the header is locked (the columns' style unlocks the cells below), and no
    line names a column, so the reader still finds the header row below them.
    """
    for row in range(1, HEADER_ROW):
        for col in range(1, width + 1):
            ws.cell(row, col).protection = _LOCKED
    ws.cell(1, 1, f"Bilan {year} — {centre} : une ligne par action").font = _BOLD
    for col, (label, fill) in enumerate(
        (("Obligatoire", _REQUIRED_FILL), ("Facultative", _OPTIONAL_FILL)), 1
    ):
        cell = ws.cell(2, col, label)
        cell.fill, cell.font = fill, _BOLD
    notes = {
        (2, 3): "En-tête orange : colonne obligatoire ; en-tête bleu : colonne facultative. "
        "Sélectionnez un en-tête pour lire la consigne de sa colonne.",
        (3, 1): EMPTY_LEGEND,
        (4, 1): f"Saisissez les actions à partir de la ligne {HEADER_ROW + 1}, sans ligne vide "
        "ni total.",
    }
    for (row, col), text in notes.items():
        ws.cell(row, col, text).font = _NOTE


def _empty_meaning(spec: ColumnSpec) -> str | None:
    """What an empty cell of ``spec``'s column means (None: the column is required)."""
    if spec.required:
        return None
    return EMPTY_PARTICIPANTS if spec.field == "participants" else EMPTY_OPTIONAL


def _data_rule(
    spec: ColumnSpec, nomenclature: Nomenclature, year: int, lists: dict[str, str]
) -> DataValidation | None:
    """The check Excel and LibreOffice apply as a data cell of ``spec``'s column is typed."""
    field_name = spec.field
    if field_name in MULTI_VALUE_FIELDS:
        example = " ; ".join(nomenclature.category(field_name).labels()[:2])
        return DataValidation(
            type="list",
            formula1=lists[field_name],
            showErrorMessage=False,
            prompt=(
                f"{spec.help} La liste propose un public à la fois : pour en indiquer "
                f"plusieurs, tapez-les séparés par « ; », par exemple « {example} »."
            ),
        )
    if field_name in lists:
        return _checked(
            DataValidation(type="list", formula1=lists[field_name]),
            "Valeur hors liste",
            f"Choisissez une valeur de la liste déroulante de la colonne « {spec.label} ».",
        )
    if field_name == "activity_date":
        first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
        return _checked(
            DataValidation(
                type="date",
                operator="between",
                formula1=str(int(to_excel(first))),
                formula2=str(int(to_excel(last))),
            ),
            f"Date hors de l'année {year}",
            f"Saisissez une date de l'année {year} (du {first:%d/%m/%Y} au {last:%d/%m/%Y}), "
            "au format JJ/MM/AAAA. Une action d'une autre année se déclare dans le bilan de "
            "son année.",
        )
    if field_name == "title":
        return _checked(
            DataValidation(
                type="textLength", operator="lessThanOrEqual", formula1=str(MAX_TITLE_LENGTH)
            ),
            "Intitulé trop long",
            f"L'intitulé compte plus de {MAX_TITLE_LENGTH} caractères : raccourcissez-le.",
        )
    bounds = {"half_days": HALF_DAYS_RANGE, "participants": PARTICIPANTS_RANGE}.get(field_name)
    if bounds is not None:
        low, high = (french_number(n) for n in bounds)
        return _checked(
            DataValidation(
                type="whole", operator="between", formula1=str(bounds[0]), formula2=str(bounds[1])
            ),
            "Nombre entier attendu",
            f"Saisissez un nombre entier de {low} à {high}, sans décimale.",
        )
    return None


def _checked(rule: DataValidation, title: str, message: str) -> DataValidation:
    """``rule`` refusing any other value with a French error message."""
    rule.showErrorMessage, rule.errorStyle = True, "stop"
    rule.errorTitle, rule.error = _clip(title, _PROMPT_TITLE_MAX), _clip(message, _TEXT_MAX)
    return rule


def _add(ws: Worksheet, rule: DataValidation, cells: str, title: str, prompt: str | None) -> None:
    """Attach ``rule`` to ``cells`` of ``ws``, with ``prompt`` as input message if given."""
    rule.allow_blank = True
    if prompt:
        rule.showInputMessage = True
        rule.promptTitle, rule.prompt = _clip(title, _PROMPT_TITLE_MAX), _clip(prompt, _TEXT_MAX)
    ws.add_data_validation(rule)
    rule.add(cells)


def _width(field_name: str, texts: list[str]) -> float:
    """Column width: fixed for free text, else the longest label, within readable bounds."""
    if field_name in _WIDTHS:
        return _WIDTHS[field_name]
    return min(_MAX_WIDTH, max([14, *(len(t) + 2 for t in texts)]))


def _fit_to_width(ws: Worksheet, orientation: str) -> None:
    """Print ``ws`` one page wide, as many pages long as needed."""
    ws.page_setup.orientation = orientation
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def _clip(text: str, limit: int) -> str:
    """``text`` cut to Excel's ``limit`` of characters, with an ellipsis when it was longer."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
