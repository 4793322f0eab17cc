"""File-level checks: identity of a return and the errors that reject a whole file."""

import pytest

from crpv_pipeline.intake.validation import validate_return
from crpv_pipeline_tests.workbooks import HEADER, write_return


# File-level rejections: (how to write the file, rule)
def _unsupported(tmp_path):
    path = tmp_path / "2021" / "IREV_2021.csv"
    path.parent.mkdir(parents=True)
    path.write_text("Date;Intitulé\n")
    return path


def _unreadable(tmp_path):
    path = tmp_path / "2021" / "IREV_2021.xlsx"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"PK\x03\x04 une archive zip coup\xe9e")
    return path


def _disguised(tmp_path):
    path = tmp_path / "2021" / "IREV_2021.xlsx"
    path.parent.mkdir(parents=True)
    path.write_text("ceci n'est pas un classeur")
    return path


FILE_RULES = [
    (_unsupported, "unsupported_format"),
    (_unreadable, "unreadable_file"),
    (_disguised, "disguised_file"),
    (
        lambda p: write_return(p / "2021" / "a.xlsx", header=["Nom", "Prénom", "Autre"]),
        "no_header_row",
    ),
    (
        lambda p: write_return(p / "2021" / "a.xlsx", header=HEADER[:4] + HEADER[5:]),
        "missing_column",
    ),
    (lambda p: write_return(p / "2021" / "a.xlsx", centre="CRPV Inconnu"), "unknown_centre"),
    (lambda p: write_return(p / "2021" / "a.xlsx", year=2020), "year_mismatch"),
    (lambda p: write_return(p / "2021" / "a.xlsx", year="l'an dernier"), "invalid_year"),
    (lambda p: write_return(p / "2021" / "bilan.xlsx", identification=False), "missing_centre"),
]


@pytest.mark.parametrize(("make", "rule"), FILE_RULES)
def test_file_level_errors_reject_the_whole_file(tmp_path, make, rule):
    result = validate_return(make(tmp_path), 2021)
    assert result.rejected
    assert result.status == "rejected"
    assert rule in [f.rule for f in result.findings]
    assert result.rows_loaded == 0 and result.activities.empty
    assert all(f.severity == "error" for f in result.findings)


def test_missing_column_names_the_column(tmp_path):
    path = write_return(tmp_path / "2021" / "IREV_2021.xlsx", header=HEADER[:4] + HEADER[5:])
    finding = validate_return(path, 2021).findings[0]
    assert finding.rule == "missing_column"
    assert finding.message == (
        "Colonne obligatoire « Modalité » absente de la ligne d'en-tête (ligne 1) : "
        "ajoutez-la avec cet intitulé."
    )
    assert validate_return(path, 2021).centre_code == "IREV"
    # the missing column is no value the centre entered: it goes to the column field
    assert (finding.column_label, finding.value, finding.cell) == ("Modalité", None, None)


# What « Valeur saisie » shows for each file-level rule: what the centre entered, else nothing.
FILE_RULE_VALUES = {
    "unsupported_format": None,
    "unreadable_file": None,
    "no_header_row": None,
    "missing_column": None,
    "unknown_centre": "CRPV Inconnu",
    "year_mismatch": "2020",
    "invalid_year": "l'an dernier",
    "missing_centre": None,
    "disguised_file": None,
}


@pytest.mark.parametrize(("make", "rule"), FILE_RULES)
def test_a_file_level_finding_holds_only_a_value_the_centre_entered(tmp_path, make, rule):
    finding = next(f for f in validate_return(make(tmp_path), 2021).findings if f.rule == rule)
    assert finding.value == FILE_RULE_VALUES[rule]
    assert finding.message  # what was wrong is said in words


def test_identity_from_file_name_when_identification_sheet_is_missing(tmp_path):
    path = write_return(tmp_path / "2021" / "ORIV_2021.xlsx", identification=False)
    result = validate_return(path, 2021)
    assert (result.status, result.centre_code) == ("loaded", "ORIV")


def test_centre_given_by_its_name(tmp_path):
    path = write_return(tmp_path / "2021" / "x.xlsx", centre="Labo Cités")
    assert validate_return(path, 2021).centre_code == "LABOCITES"


def test_year_mismatch_points_at_the_identification_cell(tmp_path):
    finding = validate_return(write_return(tmp_path / "2021" / "a.xlsx", year=2020), 2021).findings[
        0
    ]
    assert (finding.sheet, finding.cell, finding.value) == ("Identification", "B2", "2020")
    assert "dossier de réception (2021)" in finding.message


def test_first_sheet_with_a_header_is_used_when_no_activites_sheet(tmp_path):
    path = write_return(
        tmp_path / "2021" / "IREV_2021.xlsx", sheet_name="Feuil1", identification=False
    )
    result = validate_return(path, 2021)
    assert result.status == "loaded"
    assert result.findings == []


def _claims(path):
    from crpv_pipeline.intake.file_checks import claimed_centres
    from crpv_pipeline.intake.file_guards import DEFAULT_LIMITS
    from crpv_pipeline.reference.refdata import default_nomenclature

    return claimed_centres(path, default_nomenclature(), DEFAULT_LIMITS)


def test_a_return_claims_the_centres_of_its_name_and_its_identification_sheet(tmp_path):
    assert _claims(write_return(tmp_path / "IREV_2021.xlsx", centre="ORIV")) == {"IREV", "ORIV"}
    named = write_return(tmp_path / "bilan.xlsx", centre="Institut Régional de la Ville")
    assert _claims(named) == {"IREV"}
    assert _claims(write_return(tmp_path / "ORIV_2021.xlsx", identification=False)) == {"ORIV"}
    assert _claims(write_return(tmp_path / "autre.xlsx", centre="Centre imaginaire")) == set()
    broken = tmp_path / "VTO_2021.xlsx"
    broken.write_bytes(b"not a workbook")
    assert _claims(broken) == {"VTO"}


def test_an_identification_sheet_too_large_to_read_is_not_read_for_its_claim(tmp_path):
    import openpyxl

    path = write_return(tmp_path / "IREV_2021.xlsx", centre="ORIV")
    wb = openpyxl.load_workbook(path)
    wb["Identification"]["XFD1048576"] = "x"
    wb.save(path)
    assert _claims(path) == {"IREV"}  # what validation says: rejected, centre of its name
    result = validate_return(path, 2021)
    assert (result.status, result.centre_code) == ("rejected", "IREV")
    assert [f.rule for f in result.findings] == ["sheet_too_large"]
