import datetime as dt

import openpyxl
import pytest
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel

from crpv_pipeline.cli import main
from crpv_pipeline.intake.validation import validate_return
from crpv_pipeline.outputs.template import (
    EMPTY_OPTIONAL,
    EMPTY_PARTICIPANTS,
    HEADER_ROW,
    LAST_ROW,
    TemplateError,
    UnknownCentre,
    write_template,
)
from crpv_pipeline.reference.refdata import default_nomenclature

NOM = default_nomenclature()
LABELS = [c.label for c in NOM.columns]
FIELDS = [c.field for c in NOM.columns]


def letter(field_name: str) -> str:
    return get_column_letter(FIELDS.index(field_name) + 1)


@pytest.fixture
def template(tmp_path):
    """IREV's 2021 template, in an inbox folder for 2021 (so ``crpv validate`` checks the year)."""
    (tmp_path / "2021").mkdir()
    return write_template("IREV", 2021, tmp_path / "2021" / "IREV_2021.xlsx")


FIRST = HEADER_ROW + 1  # first data row


def rules_by_range(ws) -> dict[str, object]:
    return {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}


def test_sheets_identification_and_properties(template):
    wb = openpyxl.load_workbook(template)
    assert wb.sheetnames == ["Identification", "Activités", "Listes"]
    assert [ws.sheet_state for ws in wb] == ["visible", "visible", "hidden"]
    ident = wb["Identification"]
    rows = {ident.cell(r, 1).value: ident.cell(r, 2) for r in range(1, 7)}
    assert list(rows) == [e.label for e in NOM.identification]
    assert [rows[label].value for label in ("Centre de ressources", "Année")] == ["IREV", 2021]
    assert rows["Version du modèle"].value == 1
    locked = {label: cell.protection.locked for label, cell in rows.items()}
    assert locked == {
        "Centre de ressources": True,
        "Année": True,
        "Version du modèle": True,
        "Contact": False,
        "Courriel": False,
        "Date d'envoi": False,
    }
    assert ident.protection.sheet
    assert wb.properties.title == "Bilan annuel d'activité 2021 — Institut Régional de la Ville"
    assert wb.properties.creator == "ANCT — pipeline CRPV"


def test_activity_sheet_header_protection_and_formats(template):
    ws = openpyxl.load_workbook(template)["Activités"]
    header = [ws.cell(HEADER_ROW, col) for col in range(1, len(LABELS) + 1)]
    assert [c.value for c in header] == LABELS
    assert ws.max_column == len(LABELS) and ws.max_row == HEADER_ROW
    assert all(c.font.b and c.protection.locked for c in header)
    required_fills = {
        c.fill.fgColor.rgb for c, s in zip(header, NOM.columns, strict=True) if s.required
    }
    optional_fills = {
        c.fill.fgColor.rgb for c, s in zip(header, NOM.columns, strict=True) if not s.required
    }
    assert len(required_fills) == len(optional_fills) == 1 and required_fills != optional_fills
    assert ws.freeze_panes == f"A{FIRST}"  # the legend and the header stay in view
    assert ws.print_title_rows == f"${HEADER_ROW}:${HEADER_ROW}"
    assert ws.protection.sheet and ws.protection.password is None
    columns = {f: ws.column_dimensions[letter(f)] for f in FIELDS}
    assert all(dim.protection.locked is False for dim in columns.values())
    assert all(dim.width >= 12 for dim in columns.values())
    assert columns["activity_date"].number_format == "DD/MM/YYYY"
    assert columns["department"].number_format == "@"


def test_lists_sheet_feeds_the_drop_downs(template):
    wb = openpyxl.load_workbook(template)
    lists, rules = wb["Listes"], rules_by_range(wb["Activités"])
    for field_name in ("activity_type", "modality", "theme", "publics"):
        reference = NOM.category(field_name).labels()
        rule = rules[f"{letter(field_name)}{FIRST}:{letter(field_name)}{LAST_ROW}"]
        assert rule.type == "list"
        sheet, cells = rule.formula1.split("!")
        col = cells.split("$")[1]
        assert (sheet, cells) == ("Listes", f"${col}$2:${col}${len(reference) + 1}")
        assert [row[0].value for row in lists[f"{col}2:{col}{len(reference) + 1}"]] == reference
        assert lists[f"{col}{len(reference) + 2}"].value is None
        assert lists[f"{col}1"].value == LABELS[FIELDS.index(field_name)]
    strict = [
        rules[f"{letter(f)}{FIRST}:{letter(f)}{LAST_ROW}"]
        for f in ("activity_type", "modality", "theme")
    ]
    assert all(r.showErrorMessage and r.errorStyle == "stop" and r.error for r in strict)
    publics = rules[f"G{FIRST}:G{LAST_ROW}"]
    assert not publics.showErrorMessage and publics.showInputMessage and "« ; »" in publics.prompt


def test_typed_checks_follow_the_validation_ranges(template):
    rules = rules_by_range(openpyxl.load_workbook(template)["Activités"])

    def rule(field_name):
        return rules[f"{letter(field_name)}{FIRST}:{letter(field_name)}{LAST_ROW}"]

    checks = {
        f: (rule(f).type, rule(f).operator, rule(f).formula1, rule(f).formula2)
        for f in ("activity_date", "title", "half_days", "participants")
    }
    assert checks == {
        "activity_date": (
            "date",
            "between",
            str(int(to_excel(dt.date(2021, 1, 1)))),
            str(int(to_excel(dt.date(2021, 12, 31)))),
        ),
        "title": ("textLength", "lessThanOrEqual", "500", None),
        "half_days": ("whole", "between", "1", "60"),
        "participants": ("whole", "between", "0", "5000"),
    }
    assert "2021" in rule("activity_date").error
    assert "5\u202f000" in rule("participants").error


def test_every_header_cell_has_a_french_prompt(template):
    ws = openpyxl.load_workbook(template)["Activités"]
    rules = rules_by_range(ws)
    for col, spec in enumerate(NOM.columns):
        rule = rules[f"{get_column_letter(col + 1)}{HEADER_ROW}"]
        assert rule.showInputMessage and rule.promptTitle == spec.label
        assert rule.prompt.startswith(spec.help)
        empty = EMPTY_PARTICIPANTS if spec.field == "participants" else EMPTY_OPTIONAL
        status = "Colonne obligatoire." if spec.required else f"Colonne facultative. {empty}"
        assert rule.prompt.endswith(status)
    for rule in rules.values():
        assert len(rule.promptTitle or "") <= 32 and len(rule.errorTitle or "") <= 32
        assert len(rule.prompt or "") <= 255 and len(rule.error or "") <= 255


def test_the_activity_sheet_explains_colours_and_empty_cells_above_its_header(template):
    ws = openpyxl.load_workbook(template)["Activités"]
    assert ws["A1"].value == "Bilan 2021 — Institut Régional de la Ville : une ligne par action"
    assert (ws["A2"].value, ws["B2"].value) == ("Obligatoire", "Facultative")
    header = {s.required: ws.cell(HEADER_ROW, c + 1) for c, s in enumerate(NOM.columns)}
    assert ws["A2"].fill.fgColor.rgb == header[True].fill.fgColor.rgb  # orange
    assert ws["B2"].fill.fgColor.rgb == header[False].fill.fgColor.rgb  # blue
    assert ws["C2"].value.startswith("En-tête orange : colonne obligatoire ; en-tête bleu :")
    assert ws["A3"].value == (  # one sentence, not the two input messages end to end
        "Colonnes facultatives : laissez la cellule vide si vous ne connaissez pas l'information ; "
        "elle sera comptée comme non renseignée (un nombre de participants inconnu n'est jamais "
        "compté comme 0)."
    )
    assert (
        ws["A4"].value == "Saisissez les actions à partir de la ligne 6, sans ligne vide ni total."
    )
    above = [ws.cell(r, c) for r in range(1, HEADER_ROW) for c in range(1, len(LABELS) + 1)]
    assert all(cell.protection.locked for cell in above)


def test_checks_and_input_messages_cover_5000_rows(template):
    rules = rules_by_range(openpyxl.load_workbook(template)["Activités"])
    data = {r: v for r, v in rules.items() if ":" in r}
    assert LAST_ROW - HEADER_ROW >= 5000
    assert {r.split(":")[1] for r in data} == {f"{letter(f)}{LAST_ROW}" for f in FIELDS}
    participants = data[f"H{FIRST}:H{LAST_ROW}"]
    assert participants.type == "whole" and participants.prompt.endswith(EMPTY_PARTICIPANTS)
    for field_name in ("department", "partners", "comment"):
        rule = data[f"{letter(field_name)}{FIRST}:{letter(field_name)}{LAST_ROW}"]
        assert rule.type is None and rule.prompt.endswith(EMPTY_OPTIONAL)


def test_a_row_filled_at_the_last_checked_row_is_read(template):
    rows = [[None] * len(FIELDS)] * (LAST_ROW - FIRST) + [VALID_ROWS[0]]
    result = validate_return(fill(template, rows), 2021)
    assert (result.status, result.rows_loaded, result.findings) == ("loaded", 1, [])


VALID_ROWS = [
    [
        dt.date(2021, 3, 15),
        "Formation « laïcité et valeurs de la République » – module 1",
        "Formation",
        2,
        "Présentiel",
        "Valeurs de la République et laïcité",
        "Élus ; Chefs de projet politique de la ville",
        25,
        "59",
        "DRAJES",
        None,
    ],
    [
        dt.date(2021, 6, 10),
        "Webinaire : le non-recours aux droits",
        "Manifestation à vocation informative",
        1,
        "Distanciel",
        "Accès aux droits et aux services publics",
        "Agents des collectivités",
        80,
        "62",
        None,
        "Rediffusion disponible",
    ],
    [
        dt.date(2021, 11, 23),
        "Groupe de travail cités éducatives – séance 3",
        "Groupe de travail",
        1,
        "Hybride",
        "Éducation",
        None,
        None,
        None,
        None,
        None,
    ],
]


def fill(path, rows):
    wb = openpyxl.load_workbook(path)
    ws = wb["Activités"]
    for r, values in enumerate(rows, FIRST):
        for c, value in enumerate(values, 1):
            ws.cell(r, c, value)
    wb.save(path)
    return path


def test_filled_template_validates_clean(template):
    result = validate_return(fill(template, VALID_ROWS), 2021)
    assert (result.status, result.centre_code, result.year) == ("loaded", "IREV", 2021)
    assert (result.findings, result.rows_loaded, result.template_version) == ([], 3, "1")
    assert main(["validate", str(template)]) == 0


def test_empty_template_reads_without_findings(template):
    result = validate_return(template, 2021)
    assert (result.findings, result.rows_read) == ([], 0)


@pytest.mark.parametrize(
    ("field_name", "value", "rule"),
    [
        ("activity_date", dt.date(2020, 12, 31), "date_out_of_year"),
        ("half_days", "2,5", "half_days_not_integer"),
        ("half_days", 0, "half_days_out_of_range"),
        ("half_days", 75, "half_days_out_of_range"),
        ("theme", "Logement", "theme_unknown"),
        ("activity_type", "Visite de terrain", "activity_type_unknown"),
        ("modality", "Par téléphone", "modality_unknown"),
        ("participants", "beaucoup", "participants_not_integer"),
        ("department", "20", "department_invalid"),
        ("title", "x" * 501, "title_too_long"),
        ("modality", None, "required"),
    ],
)
def test_invalid_value_is_found_at_its_cell(template, capsys, field_name, value, rule):
    rows = [list(r) for r in VALID_ROWS]
    rows[0][FIELDS.index(field_name)] = value
    result = validate_return(fill(template, rows), 2021)
    assert [(f.rule, f.cell) for f in result.findings] == [(rule, f"{letter(field_name)}{FIRST}")]
    assert (result.status, result.rows_loaded) == ("loaded_with_errors", 2)
    assert main(["validate", str(template)]) == 1
    found = f"Activités!{letter(field_name)}{FIRST} [erreur] {NOM.rule_label(rule)} :"
    assert found in capsys.readouterr().out  # the rule by its French label, as people read it


def test_centre_given_by_name_is_written_as_its_code(tmp_path):
    path = write_template("institut regional de la ville", 2020, tmp_path / "t.xlsx")
    assert openpyxl.load_workbook(path)["Identification"]["B1"].value == "IREV"


def test_unknown_centre_lists_the_valid_codes(tmp_path):
    with pytest.raises(UnknownCentre, match=r"unknown centre 'XYZ'; valid codes: PROFBANLIEUE, "):
        write_template("XYZ", 2021, tmp_path / "t.xlsx")
    assert not (tmp_path / "t.xlsx").exists()


@pytest.mark.parametrize(("year", "name"), [(21, "t.xlsx"), (2021, "t.ods")])
def test_implausible_year_or_other_format_is_refused(tmp_path, year, name):
    with pytest.raises(TemplateError):
        write_template("IREV", year, tmp_path / name)
    assert not (tmp_path / name).exists()
