import datetime as dt

import pytest

from crpv_pipeline.intake.validation import validate_return
from crpv_pipeline_tests.workbooks import HEADER, VALID_ROW, row, write_return


def findings_of(path, year=2021):
    result = validate_return(path, year)
    return result, [(f.rule, f.severity, f.cell) for f in result.findings]


def test_a_valid_return_loads_every_row(tmp_path):
    result, findings = findings_of(write_return(tmp_path / "2021" / "IREV.xlsx"))
    assert findings == []
    assert result.status == "loaded"
    assert (result.centre_code, result.year, result.rows_read, result.rows_loaded) == (
        "IREV",
        2021,
        1,
        1,
    )
    activity = result.activities.iloc[0].to_dict()
    assert activity == {
        "source_row": 2,
        "source_sheet": "Activités",
        "activity_date": dt.date(2021, 3, 4),
        "title": "Formation laïcité – module 1",
        "activity_type_code": "FORMATION",
        "modality_code": "PRESENTIEL",
        "theme_code": "VRL",
        "half_days": 2,
        "participants": 25,
        "department": "59",
        "partners": "DRAJES",
        "comment": None,
        "public_codes": ("ELUS", "CHEFS_PROJET"),
    }


# (changes to the valid row, rule, severity, cell): each rule fails on its own.
ROW_RULES = [
    ({"activity_date": None}, "required", "error", "A2"),
    ({"activity_date": "31/02/2021"}, "date_invalid", "error", "A2"),
    ({"activity_date": dt.date(2020, 12, 31)}, "date_out_of_year", "error", "A2"),
    ({"activity_date": dt.date(2021, 3, 6)}, "weekend_date", "warning", "A2"),
    ({"title": "   "}, "required", "error", "B2"),
    ({"title": "x" * 501}, "title_too_long", "error", "B2"),
    ({"activity_type": "Visite"}, "activity_type_unknown", "error", "C2"),
    ({"half_days": "2,5"}, "half_days_not_integer", "error", "D2"),
    ({"half_days": 0}, "half_days_out_of_range", "error", "D2"),
    ({"half_days": 61}, "half_days_out_of_range", "error", "D2"),
    ({"half_days": 25}, "half_days_high", "warning", "D2"),
    ({"modality": None}, "required", "error", "E2"),
    ({"modality": "Par téléphone"}, "modality_unknown", "error", "E2"),
    ({"theme": "Transition écologique"}, "theme_unknown", "error", "F2"),
    ({"publics": "Élus; Journalistes"}, "publics_unknown", "error", "G2"),
    ({"participants": "une trentaine"}, "participants_not_integer", "error", "H2"),
    ({"participants": 5001}, "participants_out_of_range", "error", "H2"),
    ({"participants": 650}, "participants_high", "warning", "H2"),
    ({"department": "20"}, "department_invalid", "error", "I2"),
]


@pytest.mark.parametrize(("changes", "rule", "severity", "cell"), ROW_RULES)
def test_each_row_rule_fails_alone(tmp_path, changes, rule, severity, cell):
    result, findings = findings_of(write_return(tmp_path / "2021" / "IREV.xlsx", [row(**changes)]))
    assert findings == [(rule, severity, cell)]
    assert result.rows_loaded == (1 if severity == "warning" else 0)
    assert result.status == ("loaded" if severity == "warning" else "loaded_with_errors")


@pytest.mark.parametrize(
    "changes",
    [
        {"activity_date": "04/03/2021"},
        {"activity_date": "04/03/21"},
        {"activity_date": "2021-03-04"},
        {"half_days": "2"},
        {"half_days": "2,0"},
        {"half_days": 2.0},
        {"half_days": 20},
        {"activity_type": "formations"},
        {"activity_type": "CYCLES DE QUALIFICATION"},
        {"activity_type": "Journée d’étude"},
        {"modality": "Webinaire"},
        {"theme": "égalité femmes hommes"},
        {"publics": "habitants, élus locaux"},
        {"modality": "visio"},
        {"theme": "education"},
        {"publics": None},
        {"participants": None},
        {"participants": 500},
        {"department": 1},
        {"department": "2A"},
        {"department": 974.0},
        {"title": "x" * 500},
    ],
)
def test_each_row_rule_passes_on_valid_values(tmp_path, changes):
    _, findings = findings_of(write_return(tmp_path / "2021" / "IREV.xlsx", [row(**changes)]))
    assert findings == []


def test_all_failures_of_a_row_are_found_at_once(tmp_path):
    path = write_return(
        tmp_path / "2021" / "IREV.xlsx",
        [row(half_days="2,5", theme="Logement", participants="beaucoup", title="Autre"), VALID_ROW],
    )
    result, findings = findings_of(path)
    assert findings == [
        ("half_days_not_integer", "error", "D2"),
        ("theme_unknown", "error", "F2"),
        ("participants_not_integer", "error", "H2"),
    ]
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (2, 1, 1)
    assert result.activities["source_row"].tolist() == [3]


def test_messages_are_french_and_say_how_to_fix(tmp_path):
    path = write_return(tmp_path / "2021" / "IREV.xlsx", [row(half_days="2,5", modality="Fax")])
    result = validate_return(path, 2021)
    half_days, modality = result.findings
    assert half_days.location == "Activités!D2"
    assert half_days.column_label == "Nombre de demi-journées"
    assert half_days.value == "2,5"
    assert half_days.message == (
        "« 2,5 » n'est pas un nombre entier de demi-journées : "
        "saisissez un nombre entier de 1 à 60."
    )
    assert modality.message == (
        "« Fax » n'est pas une modalité reconnue : choisissez parmi "
        "« Présentiel », « Distanciel » ou « Hybride »."
    )


def test_duplicate_activity_is_a_warning_pointing_at_the_first(tmp_path):
    path = write_return(tmp_path / "2021" / "IREV.xlsx", [VALID_ROW, row(modality="sur site")])
    result, findings = findings_of(path)
    assert findings == [("duplicate_activity", "warning", "B3")]
    assert "que la ligne 2" in result.findings[0].message
    assert result.rows_loaded == 2


def test_blank_rows_are_skipped_and_rows_keep_their_excel_number(tmp_path):
    path = write_return(
        tmp_path / "2021" / "IREV.xlsx",
        [VALID_ROW, [None] * 11, row(half_days="x", title="Autre")],
        title_rows=[["Bilan annuel d'activité 2021"], [], ["Une ligne par action"]],
    )
    result, findings = findings_of(path)
    assert findings == [("half_days_not_integer", "error", "D7")]
    assert result.rows_read == 2


def test_extra_columns_give_one_warning_per_file(tmp_path):
    path = write_return(
        tmp_path / "2021" / "IREV.xlsx",
        [VALID_ROW + ["a", "b"]],
        header=HEADER + ["Remarque interne", "Budget"],
    )
    result, findings = findings_of(path)
    assert findings == [("extra_columns", "warning", None)]
    # the columns as the centre wrote them go to the column field, not to « Valeur saisie »
    assert (result.findings[0].column_label, result.findings[0].value) == (
        "Remarque interne, Budget",
        None,
    )
    assert result.rows_loaded == 1


def test_header_labels_are_matched_loosely_and_in_any_order(tmp_path):
    header = [
        "THEMATIQUE PRINCIPALE",
        "date",
        "Intitulé de l’action",
        "type d activite",
        "Nombre de demi journées",
        "Modalités",
    ]
    values = ["Santé", dt.date(2021, 5, 3), "Atelier", "GT", 3, "Visio"]
    result, findings = findings_of(
        write_return(tmp_path / "2021" / "IREV.xlsx", [values], header=header)
    )
    assert findings == []
    assert result.activities.iloc[0][
        ["theme_code", "activity_type_code", "modality_code"]
    ].tolist() == ["SANTE", "GROUPE_TRAVAIL", "DISTANCIEL"]
