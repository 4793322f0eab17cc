"""The « Décisions » sheet: each line offers only its own decisions, and is read back as filled."""

import openpyxl
import pandas as pd
import pytest

from crpv_pipeline.outputs.overview_decisions import OverviewError, read_decisions
from crpv_pipeline.outputs.steward_overview import write_steward_overview
from crpv_pipeline.warehouse.awaiting import Pending

ITEMS = [
    Pending("IREV", "IREV.xlsx", "a" * 64, 3, "finding", "weekend_date@Activités!A8", ("accept",),
            rule="weekend_date", severity="warning", location="Activités!A8",
            message="La date 06/03/2021 tombe un samedi."),
    Pending("IREV", "IREV.xlsx", "a" * 64, 3, "approval", "approval", ("approve",),
            approval="received"),
    Pending("ORIV", "=ORIV vide.xlsx", "b" * 64, 5, "held", "return", ("confirm", "exclude"),
            rule="empty_return", message="Le bilan ne contient aucune ligne d'activité."),
]  # fmt: skip


def overview(tmp_path):
    empty = pd.DataFrame(columns=["centre_code", "status", "submission_id"])
    return write_steward_overview(2021, empty, empty, tmp_path, {}, pending=ITEMS)


def test_each_line_offers_its_own_decisions_and_only_decision_and_motif_are_typed(tmp_path):
    book = openpyxl.load_workbook(overview(tmp_path))
    assert book.sheetnames == ["Complétude", "Décisions", "Constats"]
    sheet = book["Décisions"]
    assert sheet["A1"].value == "Bilans 2021 : décisions à prendre"
    assert [c.value for c in sheet[6]] == [
        "Centre",
        "Fichier",
        "À décider",
        "Règle",
        "Emplacement",
        "Message",
        "Décision",
        "Motif",
        "Empreinte du fichier (ne pas modifier)",
        "Clé (ne pas modifier)",
    ]
    assert [c.value for c in sheet[9]][:4] == [
        "ORIV",
        "=ORIV vide.xlsx",
        "Bilan retenu (non mis en vigueur) : confirmer pour qu'il remplace le précédent, ou "
        "écarter",
        "Bilan vide non mis en vigueur",
    ]
    assert sheet["B9"].data_type == "s"  # a file name is never a formula
    lists = {str(v.sqref): v.formula1 for v in sheet.data_validations.dataValidation}
    assert lists == {"G7": '"Accepter"', "G8": '"Approuver"', "G9": '"Confirmer,Écarter"'}
    assert sheet.protection.sheet
    assert [sheet.cell(7, c).protection.locked for c in (1, 6, 7, 8, 9, 10)] == [
        True,
        True,
        False,
        False,
        True,
        True,
    ]


def test_a_filled_sheet_is_read_back_with_its_lines(tmp_path):
    path = overview(tmp_path)
    book = openpyxl.load_workbook(path)
    sheet = book["Décisions"]
    sheet["G7"], sheet["H7"] = "accepter ", "atelier tenu"  # any case, stray spaces
    sheet["G9"], sheet["H9"] = "Écarter", None
    sheet["G8"] = "Peut-être"
    sheet["H10"] = "à voir avec le centre"  # a reason, no decision (on a line of its own)
    book.save(path)
    year, as_of, rows = read_decisions(path)
    assert (year, as_of) == (2021, 0)
    assert [(r.row, r.decision, r.label, r.subject, r.reason) for r in rows] == [
        (7, "accept", "accepter", "weekend_date@Activités!A8", "atelier tenu"),
        (8, None, "Peut-être", "approval", ""),
        (9, "exclude", "Écarter", "return", ""),
        (10, None, "", "", "à voir avec le centre"),
    ]
    assert rows[2].file_sha256 == "b" * 64


def test_a_workbook_without_the_sheet_is_refused(tmp_path):
    path = tmp_path / "autre.xlsx"
    openpyxl.Workbook().save(path)
    with pytest.raises(OverviewError, match="no sheet « Décisions »"):
        read_decisions(path)
    (tmp_path / "texte.xlsx").write_text("pas un classeur")
    with pytest.raises(OverviewError, match="texte.xlsx: cannot be read: "):
        read_decisions(tmp_path / "texte.xlsx")


def test_the_sheet_says_which_decisions_it_takes_into_account(tmp_path):
    empty = pd.DataFrame(columns=["centre_code", "status", "submission_id"])
    path = write_steward_overview(2021, empty, empty, tmp_path, {}, ITEMS, last_decision=24)
    sheet = openpyxl.load_workbook(path)["Décisions"]
    assert sheet["J1"].value == "État : à jour de la décision enregistrée n° 24 (ne pas modifier)"
    assert sheet["J1"].protection.locked
    assert read_decisions(path)[:2] == (2021, 24)
