import datetime as dt
import re
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import python_calamine

from crpv_pipeline.intake.validation import validate_return
from crpv_pipeline.model import Finding, ReturnResult, empty_activities
from crpv_pipeline.outputs.corrections import (
    CORRECTIONS_SHEET,
    correction_file_name,
    write_correction_workbook,
)
from crpv_pipeline.outputs.steward_overview import write_steward_overview
from crpv_pipeline.reference.parsing import format_value
from crpv_pipeline.reference.refdata import default_nomenclature
from crpv_pipeline_tests.workbooks import (
    HEADER,
    VALID_ROW,
    rename_sheets,
    row,
    write_ods,
    write_return,
)

FIXTURES = Path(__file__).parents[1] / "fixtures"
RED, AMBER = "FFC7CE", "FFEB9C"


def duplicate_file_finding(file_name: str) -> Finding:
    """The file-level finding the pipeline adds when one folder holds two files of a centre."""
    names = f"{file_name}, IREV_bis.xlsx"
    return Finding(
        file_name=file_name,
        sheet=None,
        row_number=None,
        cell=None,
        column_label=None,
        field=None,
        value=None,  # file names are no value the centre entered: the message says them
        rule="duplicate_file",
        severity="error",
        message=default_nomenclature().message(
            "duplicate_file", value=names, centre="IREV", year=2021
        ),
    )


def table(ws, header_row=5):
    return [tuple(c.value for c in r) for r in ws.iter_rows(min_row=header_row + 1)]


def fill_of(cell) -> str | None:
    return cell.fill.fgColor.rgb[-6:] if cell.fill.fill_type == "solid" else None


def commented(wb) -> dict[str, str]:
    return {
        f"{ws.title}!{c.coordinate}": c.comment.text
        for ws in wb.worksheets[1:]
        for r in ws.iter_rows()
        for c in r
        if c.comment
    }


def text_as_text(path: Path) -> Path:
    """Turn the ``=…`` strings openpyxl wrote as formulas back into text, as a centre types them."""
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:
        for cells in ws.iter_rows():
            for cell in cells:
                if cell.data_type == "f":
                    cell.data_type = "s"
    wb.save(path)
    return path


def assert_no_formula(path: Path) -> None:
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/sheet"):
                xml = archive.read(name).decode()
                assert "<f>" not in xml and "<f " not in xml, name


@pytest.fixture
def result(tmp_path) -> ReturnResult:
    rows = [
        VALID_ROW,
        row(title="Atelier", half_days="2,5"),
        row(title="Colloque", activity_date=dt.date(2020, 12, 26), participants=650),
        row(title="Rencontre", modality="Par téléphone", half_days=25),
    ]
    path = write_return(tmp_path / "2021" / "Bilan IREV 2021.xlsx", rows)
    result = validate_return(path, 2021)
    result.findings.append(duplicate_file_finding(path.name))  # added by the pipeline
    return result


def test_corrections_table_lists_findings_by_row_file_level_first(result, tmp_path):
    out = write_correction_workbook(result, tmp_path / "corrections.xlsx")
    assert out == tmp_path / "corrections.xlsx"
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == [CORRECTIONS_SHEET, "Identification", "Activités"]
    ws = wb[CORRECTIONS_SHEET]
    assert ws["A1"].value == (
        "Bilan 2021 — IREV (Institut Régional de la Ville) : corrections à apporter"
    )
    assert ws["A2"].value == (
        "Fichier reçu : « Bilan IREV 2021.xlsx » · 4 erreurs, 3 avertissements · "
        "1 ligne chargée sur 4, 3 lignes écartées jusqu'à correction"
    )
    assert ws["A3"].value == (  # the colours named as they look: AMBER is a pale yellow
        "Les cellules concernées sont surlignées dans la copie de vos feuilles qui suit "
        "(rouge : erreur à corriger ; jaune : avertissement à vérifier). "
        "Corrigez votre fichier d'origine puis renvoyez-le."
    )
    assert ws["D6"].alignment.wrap_text  # rule labels reach 46 characters in a 26-wide column
    assert [c.value for c in ws[5]] == [
        "Cellule",
        "Colonne",
        "Valeur saisie",
        "Règle",
        "Gravité",
        "Message",
    ]
    assert all(c.font.bold for c in ws[5])
    assert (ws.freeze_panes, ws.auto_filter.ref) == ("A6", "A5:F12")
    rows, name = table(ws), "Bilan IREV 2021.xlsx"
    assert [r[:5] for r in rows] == [
        (name, None, None, "Plusieurs fichiers pour un même centre", "Erreur"),
        (
            "Activités!D3",
            "Nombre de demi-journées",
            "2,5",
            "Demi-journées : nombre entier attendu",
            "Erreur",
        ),
        ("Activités!A4", "Date", "26/12/2020", "Date hors de l'année", "Erreur"),
        ("Activités!A4", "Date", "26/12/2020", "Date un week-end", "Avertissement"),
        (
            "Activités!H4",
            "Nombre de participants",
            "650",
            "Nombre de participants élevé",
            "Avertissement",
        ),
        (
            "Activités!D5",
            "Nombre de demi-journées",
            "25",
            "Nombre de demi-journées élevé",
            "Avertissement",
        ),
        ("Activités!E5", "Modalité", "Par téléphone", "Modalité inconnue", "Erreur"),
    ]
    assert f"{name}, IREV_bis.xlsx" in rows[0][5]  # the message names the files
    assert rows[1][5] == (
        "« 2,5 » n'est pas un nombre entier de demi-journées : "
        "saisissez un nombre entier de 1 à 60."
    )
    assert [fill_of(ws.cell(r, 5)) for r in range(6, 13)] == [
        RED,
        RED,
        RED,
        AMBER,
        AMBER,
        AMBER,
        RED,
    ]
    assert ws["F7"].alignment.wrap_text
    assert ws["A7"].hyperlink.location == "'Activités'!D3"
    assert ws["A6"].hyperlink is None  # a file-level finding points at no cell


def test_copy_keeps_cells_in_place_with_red_and_amber_marks(result, tmp_path):
    out = write_correction_workbook(result, tmp_path / "à envoyer")  # a folder, created
    assert out == tmp_path / "à envoyer" / "corrections_IREV_2021_Bilan_IREV_2021--0819c5d25c.xlsx"
    wb = openpyxl.load_workbook(out)
    copy = wb["Activités"]
    source = python_calamine.CalamineWorkbook.from_path(str(result.path))
    for name in ("Identification", "Activités"):
        rows = source.get_sheet_by_name(name).to_python(skip_empty_area=False)
        for r, values in enumerate(rows, start=1):
            for c, value in enumerate(values, start=1):
                assert format_value(wb[name].cell(r, c).value) == (format_value(value) or None)
    assert copy["D3"].value == "2,5"
    assert (copy["A2"].value, copy["A2"].number_format) == (dt.datetime(2021, 3, 4), "DD/MM/YYYY")
    assert wb["Identification"]["B1"].value == "IREV"

    marks = {cell: fill_of(copy[cell]) for cell in ("D3", "A4", "H4", "D5", "E5", "B3", "D2")}
    assert marks == {
        "D3": RED,
        "A4": RED,
        "H4": AMBER,
        "D5": AMBER,
        "E5": RED,
        "B3": None,
        "D2": None,
    }
    comments = commented(wb)
    assert set(comments) == {f"Activités!{c}" for c in ("D3", "A4", "H4", "D5", "E5")}
    assert comments["Activités!D3"] == (
        "Erreur (Demi-journées : nombre entier attendu) : « 2,5 » n'est pas un nombre entier "
        "de demi-journées : saisissez un nombre entier de 1 à 60."
    )
    assert "Erreur (Date hors de l'année) : " in comments["Activités!A4"]
    assert "date_out_of_year" not in comments["Activités!A4"]  # the label, never the id
    assert (
        "Avertissement (Date un week-end) : La date 26/12/2020 tombe un samedi"
        in (comments["Activités!A4"])
    )
    assert copy["D3"].comment.author == "Pipeline CRPV"
    assert not any("duplicate_file" in text for text in comments.values())


def test_a_finding_on_a_whole_row_marks_its_first_cell(tmp_path):
    path = write_return(tmp_path / "IREV_2021.xlsx", header=[*HEADER, "Budget"])
    result = validate_return(path, 2021)
    assert [(f.rule, f.row_number, f.cell) for f in result.findings] == [("extra_columns", 1, None)]
    wb = openpyxl.load_workbook(write_correction_workbook(result, tmp_path / "c.xlsx"))
    assert table(wb[CORRECTIONS_SHEET])[0][0] == "Activités, ligne 1"
    assert fill_of(wb["Activités"]["A1"]) == AMBER
    assert wb["Activités"]["A1"].comment.text.startswith("Avertissement (Colonnes non prévues) :")


def test_text_that_looks_like_a_formula_stays_text(tmp_path):
    rows = [
        row(title="=1+1", partners="+33 1 23", comment="@SUM(A1)"),
        row(title="-2", comment="\t=cmd|' /C calc'!A0", publics='=HYPERLINK("http://x")'),
    ]
    path = text_as_text(write_return(tmp_path / "@bilan.xlsx", rows))
    result = validate_return(path, 2021)
    result.findings.append(duplicate_file_finding(path.name))
    out = write_correction_workbook(result, tmp_path / "c.xlsx")

    wb = openpyxl.load_workbook(out)
    copy = wb["Activités"]
    expected = {
        "B2": "=1+1",
        "J2": "+33 1 23",
        "K2": "@SUM(A1)",
        "B3": "-2",
        "K3": "\t=cmd|' /C calc'!A0",
        "G3": '=HYPERLINK("http://x")',
    }
    assert {ref: copy[ref].value for ref in expected} == expected
    assert all(copy[ref].data_type == "s" and copy[ref].quotePrefix for ref in expected)
    rows = table(wb[CORRECTIONS_SHEET])
    assert rows[0][0] == "@bilan.xlsx"
    assert rows[1][2:4] == ('=HYPERLINK("http://x")', "Public inconnu")
    for ws in wb.worksheets:
        for cells in ws.iter_rows():
            assert all(c.data_type == "s" for c in cells if isinstance(c.value, str))
    assert_no_formula(out)


def test_libreoffice_ods_return_is_copied_with_its_error_marked(tmp_path):
    result = validate_return(FIXTURES / "IREV_2021.ods", 2021)
    assert [(f.cell, f.rule) for f in result.findings] == [("D6", "half_days_not_integer")]
    wb = openpyxl.load_workbook(write_correction_workbook(result, tmp_path))
    assert wb.sheetnames == [CORRECTIONS_SHEET, "Identification", "Activités"]
    copy = wb["Activités"]
    assert (copy["A1"].value, copy["D3"].value, copy["D6"].value) == (
        "Bilan annuel 2021",
        "Nombre de demi-journées",
        "2,5",
    )
    assert fill_of(copy["D6"]) == RED
    assert "(Demi-journées : nombre entier attendu)" in copy["D6"].comment.text
    assert (copy["A4"].value, copy["A5"].value) == (dt.datetime(2021, 3, 4), "12/04/2021")


@pytest.mark.parametrize(
    ("name", "content", "rule"),
    [
        ("IREV_2021.xlsx", b"PK\x03\x04 not a workbook", "Fichier illisible"),
        ("IREV_2021.xlsx", b"not a workbook", "Fichier d'un autre type que son extension"),
        ("IREV_2021.csv", b"a;b", "Format de fichier non accepté"),
    ],
)
def test_a_file_that_cannot_be_read_gives_only_the_corrections_sheet(tmp_path, name, content, rule):
    path = tmp_path / name
    path.write_bytes(content)
    result = validate_return(path, 2021)
    wb = openpyxl.load_workbook(write_correction_workbook(result, tmp_path))
    assert wb.sheetnames == [CORRECTIONS_SHEET]
    ws = wb[CORRECTIONS_SHEET]
    assert "fichier rejeté : aucune ligne n'a été chargée" in ws["A2"].value
    assert [(r[0], r[2], r[3], r[4]) for r in table(ws)] == [(name, None, rule, "Erreur")]


def test_rejected_return_marks_the_identification_cell(tmp_path):
    path = write_return(tmp_path / "bilan.xlsx", centre="Centre inconnu")
    result = validate_return(path, 2021)
    assert [(f.sheet, f.cell, f.rule) for f in result.findings] == [
        ("Identification", "B1", "unknown_centre")
    ]
    wb = openpyxl.load_workbook(write_correction_workbook(result, tmp_path / "c.xlsx"))
    assert fill_of(wb["Identification"]["B1"]) == RED
    assert wb["Activités"]["B2"].value == VALID_ROW[1]


def test_hidden_sheets_stay_hidden_in_the_copy(tmp_path):
    path = write_return(tmp_path / "IREV_2021.xlsx", [row(half_days="2,5")])
    wb = openpyxl.load_workbook(path)
    wb.create_sheet("Listes").sheet_state = "hidden"
    wb.save(path)
    out = write_correction_workbook(validate_return(path, 2021), tmp_path / "c.xlsx")
    copy = openpyxl.load_workbook(out)
    assert [(ws.title, ws.sheet_state) for ws in copy.worksheets][1:] == [
        ("Identification", "visible"),
        ("Activités", "visible"),
        ("Listes", "hidden"),
    ]


IDENTIFICATION = [["Centre de ressources", "IREV"], ["Année", 2021], ["Version du modèle", 1]]
LONG = "Activités de l'année 2021 — centre de ressources"


def odd_xlsx(tmp_path) -> Path:
    """Sheets named as Excel files may name them but Excel refuses to create them."""
    path = write_return(tmp_path / "IREV_2021.xlsx", [VALID_ROW, row(half_days=99)], sheet_name="S")
    wb = openpyxl.load_workbook(path)
    for name in ("N1", "N2", "N3", "N4"):
        wb.create_sheet(name)["A1"] = f"notes {name}"
    wb.save(path)
    odd = {"S": "Act[1]", "N1": "A/B", "N2": "'Activ'", "N3": "notes", "N4": "NOTES"}
    return rename_sheets(path, odd)


def odd_ods(tmp_path) -> Path:
    """Two activity sheets whose names share their first 31 characters (LibreOffice allows
    longer names)."""
    sheets = {"Identification": IDENTIFICATION, LONG: [HEADER, VALID_ROW, row(half_days=99)]}
    sheets[LONG + " (suite)"] = [HEADER, row(title="Réunion du réseau régional")]
    return write_ods(tmp_path / "IREV_2021.ods", sheets)


@pytest.mark.parametrize(
    ("make", "copied", "renamed"),
    [
        (
            odd_xlsx,
            ["Identification", "Act_1_", "A_B", "Activ", "notes", "NOTES (2)"],
            "« Act[1] » → « Act_1_ » ; « A/B » → « A_B » ; « 'Activ' » → « Activ » ; "
            "« NOTES » → « NOTES (2) »",
        ),
        (
            odd_ods,
            ["Identification", f"{LONG[:31]}", "Activités de l'année 2021 — (2)"],
            f"« {LONG} » → « Activités de l'année 2021 — cen » ; "
            f"« {LONG} (suite) » → « Activités de l'année 2021 — (2) »",
        ),
    ],
)  # fmt: skip
def test_sheet_names_excel_refuses_are_renamed_in_the_copy(tmp_path, make, copied, renamed):
    result = validate_return(make(tmp_path), 2021)
    out = write_correction_workbook(result, tmp_path / "c.xlsx")
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == [CORRECTIONS_SHEET, *copied]
    ws, activities = wb[CORRECTIONS_SHEET], copied[1]
    note = f"Feuilles renommées dans la copie (Excel refuse leur nom) : {renamed}."
    assert ws["A4"].value == note
    assert [r[0] for r in table(ws)] == [f"{activities}!B3", f"{activities}!D3"]
    quoted = activities.replace("'", "''")
    assert [ws[c].hyperlink.location for c in ("A6", "A7")] == [f"'{quoted}'!B3", f"'{quoted}'!D3"]
    assert wb[activities]["D3"].value == 99 and fill_of(wb[activities]["D3"]) == RED
    assert "Demi-journées hors limites" in wb[activities]["D3"].comment.text
    assert wb[copied[-1]]["A1"].value in ("notes N4", "notes", "Date")


def bare_result(name: str, centre: str | None, year: int | None) -> ReturnResult:
    return ReturnResult(Path("inbox") / name, "", year, centre, "1", 0, empty_activities())


@pytest.mark.parametrize(
    ("name", "centre", "year", "expected"),
    [
        ("IREV_2021-v2.xlsx", "IREV", 2021, "IREV_2021_IREV_2021-v2.xlsx"),
        ("Bilan IREV 2021.xlsx", "IREV", 2021, "IREV_2021_Bilan_IREV_2021--0819c5d25c.xlsx"),
        ("bilan été 2021 (v2).ods", "IREV", 2021, "IREV_2021_bilan_ete_2021_v2--1f4d936255.xlsx"),
        ("=cmd|'calc'!A0.xls", "IREV", 2021, "IREV_2021_cmd_calc_A0--4223eb0878.xlsx"),
        ("...xlsx", None, None, "centre_inconnu_annee_inconnue_bilan--a3ef5577e5.xlsx"),
        ("..", None, 2021, "centre_inconnu_2021_bilan--5ec1f7e700.xlsx"),
    ],
)  # fmt: skip
def test_correction_file_name_is_safe(name, centre, year, expected):
    file_name = correction_file_name(bare_result(name, centre, year))
    assert file_name == f"corrections_{expected}"
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.xlsx", file_name)


CENTRE_NAMES = {
    "IREV": "Institut Régional de la Ville",
    "ORIV": "Observatoire régional de l'intégration et de la ville",
    "VTO": "Villes et Territoires Occitanie",
    "MAYOTTE": "GIP Politique de la ville de Mayotte",
}


def completeness_frame() -> pd.DataFrame:
    columns = ["year", "centre_code", "status", "submission_id", "received_at"]
    columns += ["rows_loaded", "n_errors"]
    return pd.DataFrame(
        [
            (2021, "IREV", "loaded_with_errors", 3, "2021-05-03 09:15:00.123456", 41, 1),
            (2021, "ORIV", "loaded", 4, pd.Timestamp("2021-05-04 14:30", tz="UTC"), 50, 0),
            (2021, "VTO", "rejected", 5, "2021-05-05 08:00:00", 0, 1),
            (2021, "MAYOTTE", "missing", None, None, 0, 0),
            (2020, "IREV", "loaded", 1, "2020-05-01 10:00:00", 30, 0),
        ],
        columns=columns,
    )


def findings_frame() -> pd.DataFrame:
    """validation_failure rows: (failure_id, submission_id, centre, file, sheet, row, cell, rule,
    severity); submission 1 is of 2020, submission 2 was superseded by 3."""
    rows = [
        (1, 1, "IREV", "IREV_2020.xlsx", "Activités", 3, "A3", "weekend_date", "warning"),
        (2, 2, "IREV", "IREV_old.xlsx", "Activités", 9, "A9", "weekend_date", "warning"),
        (3, 3, "IREV", "IREV.xlsx", "Activités", 20, "A20", "weekend_date", "warning"),
        (4, 3, "IREV", "IREV.xlsx", "Activités", 14, "D14", "half_days_not_integer", "error"),
        (5, 3, "IREV", "IREV.xlsx", "Activités", 1, None, "extra_columns", "warning"),
        (6, 4, "ORIV", "=evil.xlsx", "Activités", 7, "H7", "participants_high", "warning"),
        (7, 5, "VTO", "VTO.xlsx", None, None, None, "year_mismatch", "error"),
    ]
    keys = ["failure_id", "submission_id", "centre_code", "file_name", "sheet", "row_number"]
    keys += ["cell", "rule", "severity"]
    frame = pd.DataFrame(rows, columns=keys)
    frame["year"] = [2020 if s == 1 else 2021 for s in frame["submission_id"]]
    frame["column_label"] = ["Date" if isinstance(c, str) else None for c in frame["cell"]]
    frame["field"] = "activity_date"
    frame["value"] = ["@SUM(A1)" if c == "ORIV" else "x" for c in frame["centre_code"]]
    frame["message"] = frame["rule"] + " : -message"
    return frame


def test_steward_overview(tmp_path):
    out = write_steward_overview(
        2021, completeness_frame(), findings_frame(), tmp_path, CENTRE_NAMES
    )
    assert out == tmp_path / "suivi_bilans_2021.xlsx"
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Complétude", "Constats"]

    ws = wb["Complétude"]
    assert ws["A2"].value == (
        "4 centres attendus · 1 manquant · 1 rejeté · 1 chargé avec erreurs · 1 chargé"
    )
    assert [c.value for c in ws[4]] == [
        "Code",
        "Centre",
        "Statut",
        "Reçu le (heure de Paris)",
        "Lignes chargées",
        "Erreurs",
        "Avertissements",
        "Approbation",
    ]
    # received in Paris time (UTC+2 in May), like the deadline; a missing centre counts nothing
    received = dt.datetime(2021, 5, 3, 11, 15)
    assert table(ws, 4) == [
        ("MAYOTTE", CENTRE_NAMES["MAYOTTE"], "Manquant", None, None, None, None, None),
        ("VTO", CENTRE_NAMES["VTO"], "Rejeté", dt.datetime(2021, 5, 5, 10), 0, 1, 0, None),
        ("IREV", CENTRE_NAMES["IREV"], "Chargé avec erreurs", received, 41, 1, 2, None),
        ("ORIV", CENTRE_NAMES["ORIV"], "Chargé", dt.datetime(2021, 5, 4, 16, 30), 50, 0, 1, None),
    ]  # fmt: skip
    assert ws["D6"].number_format == "DD/MM/YYYY HH:MM"
    assert [fill_of(ws.cell(r, 3)) for r in range(5, 9)] == [RED, RED, AMBER, "C6EFCE"]
    assert (ws.auto_filter.ref, ws.freeze_panes) == ("A4:H8", "A5")

    ws = wb["Constats"]
    assert ws["A2"].value == "6 constats : 2 erreurs, 4 avertissements"
    assert (ws.auto_filter.ref, ws.freeze_panes) == ("A4:I10", "A5")
    assert ws["I4"].value == "Décision" and [r[8] for r in table(ws, 4)] == [None] * 6
    assert [r[:4] + r[5:7] for r in table(ws, 4)] == [
        ("IREV", "IREV.xlsx", "Activités, ligne 1", None, "Colonnes non prévues", "Avertissement"),
        (
            "IREV",
            "IREV.xlsx",
            "Activités!D14",
            "Date",
            "Demi-journées : nombre entier attendu",
            "Erreur",
        ),
        ("IREV", "IREV.xlsx", "Activités!A20", "Date", "Date un week-end", "Avertissement"),
        ("IREV", "IREV_old.xlsx", "Activités!A9", "Date", "Date un week-end", "Avertissement"),
        (
            "ORIV",
            "=evil.xlsx",
            "Activités!H7",
            "Date",
            "Nombre de participants élevé",
            "Avertissement",
        ),
        ("VTO", "VTO.xlsx", "VTO.xlsx", None, "Année différente de celle du dossier", "Erreur"),
    ]
    assert (ws["B9"].value, ws["B9"].data_type, ws["E9"].value, ws["E9"].data_type) == (
        "=evil.xlsx",
        "s",
        "@SUM(A1)",
        "s",
    )
    assert ws["H5"].value == "extra_columns : -message"
    assert_no_formula(out)


def test_the_overview_says_which_warnings_a_steward_accepted(tmp_path):
    findings = findings_frame()
    findings["accepted"] = [c == "A20" for c in findings["cell"]]
    out = write_steward_overview(2021, completeness_frame(), findings, tmp_path, CENTRE_NAMES)
    ws = openpyxl.load_workbook(out)["Constats"]
    assert ws["A2"].value == "6 constats : 2 erreurs, 4 avertissements (dont 1 accepté)"
    marked = [(r[2], r[8]) for r in table(ws, 4) if r[8]]
    assert marked == [("Activités!A20", "Accepté par un référent")]


def test_steward_overview_with_no_findings(tmp_path):
    empty = pd.DataFrame(columns=findings_frame().columns)
    out = write_steward_overview(2021, completeness_frame(), empty, tmp_path / "o.xlsx", {})
    wb = openpyxl.load_workbook(out)
    received = dt.datetime(2021, 5, 3, 11, 15)  # 09:15 UTC, in Paris time
    irev = ("IREV", None, "Chargé avec erreurs", received, 41, 1, 0, None)
    assert table(wb["Complétude"], 4)[2] == irev  # no name given, no warning
    assert wb["Constats"]["A2"].value == "0 constat : 0 erreur, 0 avertissement"
    assert table(wb["Constats"], 4) == []
