import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from crpv_pipeline.intake.inbox import discover_returns
from crpv_pipeline.intake.raw_return import identify_from_file_name, read_return
from crpv_pipeline.intake.reading import ReturnFileError, column_letter
from crpv_pipeline.intake.validation import validate_return
from crpv_pipeline.reference.refdata import default_nomenclature
from crpv_pipeline_tests.workbooks import HEADER, VALID_ROW, row, write_return

FIXTURES = Path(__file__).parents[1] / "fixtures"


@pytest.mark.parametrize(
    ("index", "letters"),
    [(0, "A"), (3, "D"), (25, "Z"), (26, "AA"), (27, "AB"), (701, "ZZ"), (702, "AAA")],
)
def test_column_letter(index, letters):
    assert column_letter(index) == letters


@pytest.mark.parametrize("suffix", ["ods", "xls"])
def test_files_saved_by_libreoffice(suffix):
    """Fixtures converted by LibreOffice Calc (make_fixtures.py): real dates, text dates, titles."""
    result = validate_return(FIXTURES / f"IREV_2021.{suffix}", 2021)
    assert result.centre_code == "IREV"
    assert [(f.cell, f.rule, f.value) for f in result.findings] == [
        ("D6", "half_days_not_integer", "2,5")
    ]
    records = result.activities[
        ["source_row", "activity_date", "half_days", "department", "modality_code"]
    ]
    assert records.to_dict("records") == [
        {
            "source_row": 4,
            "activity_date": dt.date(2021, 3, 4),
            "half_days": 2,
            "department": "59",
            "modality_code": "PRESENTIEL",
        },
        {
            "source_row": 5,
            "activity_date": dt.date(2021, 4, 12),
            "half_days": 3,
            "department": "01",
            "modality_code": "DISTANCIEL",
        },
    ]


def test_xlsm_is_read(tmp_path):
    path = write_return(tmp_path / "IREV_2021.xlsm")
    result = validate_return(path, 2021)
    assert (result.status, result.rows_loaded) == ("loaded", 1)


def test_header_below_titles_and_merged_banner_with_notes_sheet_first(tmp_path):
    wb = openpyxl.Workbook()
    notes = wb.active
    notes.title = "Notice"
    notes.append(["Remplissez une ligne par action."])
    ws = wb.create_sheet("ACTIVITES")
    ws.append(["BILAN ANNUEL D'ACTIVITÉ — CRPV"])
    ws.merge_cells("A1:K1")
    ws.append(["Les colonnes en gras sont obligatoires"])
    ws.append([])
    ws.append(HEADER)
    ws.append(VALID_ROW)
    path = tmp_path / "IREV_2021.xlsx"
    wb.save(path)
    raw = read_return(path, default_nomenclature())
    [sheet] = raw.sheets
    assert (sheet.name, sheet.header_row) == ("ACTIVITES", 4)
    assert raw.rows.index.tolist() == [5]
    assert sheet.columns["half_days"] == (3, "Nombre de demi-journées")


def test_header_beyond_row_30_is_not_found(tmp_path):
    path = write_return(tmp_path / "IREV_2021.xlsx", title_rows=[["titre"]] * 30)
    with pytest.raises(ReturnFileError) as err:
        read_return(path, default_nomenclature())
    assert err.value.rule == "no_header_row"


def test_lock_and_hidden_files_are_ignored(tmp_path):
    for name in ("IREV_2021.xlsx", "~$IREV_2021.xlsx", ".DS_Store", "ORIV.ods"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    assert [p.name for p in discover_returns(tmp_path)] == ["IREV_2021.xlsx", "ORIV.ods"]
    assert discover_returns(tmp_path / "absent") == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("IREV_2021.xlsx", ("IREV", 2021)),
        ("crpvpaca_2020.ods", ("crpvpaca", 2020)),
        ("Bilan IREV 2021.xlsx", None),
        ("IREV_21.xlsx", None),
    ],
)
def test_identity_from_file_name(name, expected):
    assert identify_from_file_name(Path(name)) == expected


def test_formulas_use_their_cached_value_and_error_values_are_errors():
    """Saved by LibreOffice Calc with results: =1+1 → 2, =NA() → #N/A, =1/0 → #DIV/0!."""
    result = validate_return(FIXTURES / "formulas_2021.xlsx", 2021)
    assert [(f.cell, f.rule, f.value) for f in result.findings] == [
        ("H3", "cell_error", "#N/A"),
        ("D4", "cell_error", "#DIV/0!"),
    ]
    assert result.findings[0].message == (
        "La cellule contient l'erreur de tableur « #N/A » : corrigez la formule ou saisissez "
        "la valeur directement."
    )
    assert result.activities[["source_row", "half_days"]].to_dict("records") == [
        {"source_row": 2, "half_days": 2}
    ]


def test_formula_without_cached_value_is_an_error_that_says_so(tmp_path):
    # openpyxl writes formulas without their results, as some generators do.
    path = write_return(
        tmp_path / "IREV_2021.xlsx", [row(half_days="=2*1"), row(title="B", comment="=A1")]
    )
    result = validate_return(path, 2021)
    assert [(f.cell, f.rule, f.value) for f in result.findings] == [
        ("D2", "formula_without_value", "=2*1"),
        ("K3", "formula_without_value", "=A1"),
    ]
    assert "n'a pas été enregistré" in result.findings[0].message
    assert result.rows_loaded == 0


@pytest.mark.parametrize("text", ["#N/A", "#DIV/0!", "#VALUE!", "Err:502"])
def test_error_values_written_as_text_are_errors(tmp_path, text):
    path = write_return(tmp_path / "IREV_2021.xlsx", [row(theme=text)])
    result = validate_return(path, 2021)
    assert [(f.cell, f.rule, f.value) for f in result.findings] == [("F2", "cell_error", text)]


def test_hidden_sheets_are_not_taken_for_the_activity_sheet(tmp_path):
    wb = openpyxl.Workbook()
    hidden = wb.active
    hidden.title = "Ancien"
    hidden.sheet_state = "hidden"
    hidden.append(HEADER)
    hidden.append(row(title="Ne pas lire"))
    visible = wb.create_sheet("Feuil2")
    visible.append(HEADER)
    visible.append(VALID_ROW)
    path = tmp_path / "IREV_2021.xlsx"
    wb.save(path)
    result = validate_return(path, 2021)
    assert result.findings == []
    assert result.activities["title"].tolist() == [VALID_ROW[1]]


def test_sheet_and_header_names_with_odd_spaces_and_apostrophes(tmp_path):
    header = [h.replace(" ", "\u00a0").replace("'", "\u2019") for h in HEADER]
    header[0] = "\u200bDATE "
    path = write_return(tmp_path / "IREV_2021.xlsx", header=header, sheet_name="ACTIVITÉS\u00a0")
    result = validate_return(path, 2021)
    assert (result.status, result.rows_loaded, result.findings) == ("loaded", 1, [])


def test_trailing_formatted_rows_and_a_stray_blank_at_the_last_row(tmp_path):
    from openpyxl.styles import Font

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Activités"
    ws.append(HEADER)
    ws.append(VALID_ROW)
    ws.append([None] * 11)
    ws.append(row(title="Après une ligne vide"))
    for r in range(6, 200):
        ws.cell(row=r, column=1).font = Font(bold=True)  # formatted, empty
    ws.cell(row=1_048_576, column=11).value = " "  # a space typed at the very bottom
    path = tmp_path / "IREV_2021.xlsx"
    wb.save(path)
    result = validate_return(path, 2021)
    assert result.findings == []
    assert (result.rows_read, result.rows_loaded) == (2, 2)
    assert result.activities["source_row"].tolist() == [2, 4]


def test_dates_as_excel_serial_numbers(tmp_path):
    path = write_return(tmp_path / "IREV_2021.xlsx", [row(activity_date=44259)])
    result = validate_return(path, 2021)
    assert result.findings == []
    assert result.activities["activity_date"].tolist() == [dt.date(2021, 3, 4)]


def _workbook_with_sheets(path: Path, sheets: dict[str, list[list]], hidden=()) -> Path:
    """A return: its Identification sheet, then ``sheets`` (name → rows) in order."""
    wb = openpyxl.Workbook()
    ident = wb.active
    ident.title = "Identification"
    ident.append(["Centre de ressources", "IREV"])
    ident.append(["Année", 2021])
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for values in rows:
            ws.append(list(values))
        if name in hidden:
            ws.sheet_state = "hidden"
    wb.save(path)
    return path


def _actions(first: int, n: int, **changes) -> list[list]:
    return [row(title=f"Action {i}", **changes) for i in range(first, first + n)]


def test_two_semester_activity_sheets_are_both_read(tmp_path):
    path = _workbook_with_sheets(
        tmp_path / "IREV_2021.xlsx",
        {
            "Notes": [["Merci de remplir les deux semestres"]],  # no header: stays ignored
            "Activités 1er semestre": [HEADER, *_actions(1, 5)],
            "Activités 2e semestre": [["Second semestre"], HEADER, *_actions(6, 7)],
        },
    )
    result = validate_return(path, 2021)
    assert (result.status, result.rows_read, result.rows_loaded) == ("loaded", 12, 12)
    assert result.findings == []
    places = result.activities[["source_sheet", "source_row", "title"]].values.tolist()
    assert places[:2] == [
        ["Activités 1er semestre", 2, "Action 1"],
        ["Activités 1er semestre", 3, "Action 2"],
    ]
    assert places[5:7] == [
        ["Activités 2e semestre", 3, "Action 6"],
        ["Activités 2e semestre", 4, "Action 7"],
    ]
    assert len({(sheet, r) for sheet, r, _ in places}) == 12


def test_a_finding_names_its_own_sheet_and_quarantines_only_its_row(tmp_path):
    """Row 3 exists in both sheets: only the one of the sheet in error is quarantined."""
    path = _workbook_with_sheets(
        tmp_path / "IREV_2021.xlsx",
        {
            "Activités": [HEADER, *_actions(1, 3)],
            "Activités (2)": [
                [*HEADER, "Financeur"],
                *_actions(4, 1),
                row(title="Action 5", half_days="2,5"),
                row(title="Action 1"),  # the first sheet's row 2, once more
            ],
        },
    )
    result = validate_return(path, 2021)
    assert result.status == "loaded_with_errors"
    assert [(f.location, f.rule, f.message) for f in result.findings] == [
        (
            "Activités (2), ligne 1",
            "extra_columns",
            "Colonnes non reconnues, ignorées : Financeur. Si elles contiennent des données"
            " attendues, renommez-les selon le modèle.",
        ),
        (
            "Activités (2)!D3",
            "half_days_not_integer",
            "« 2,5 » n'est pas un nombre entier de demi-journées : saisissez un nombre entier"
            " de 1 à 60.",
        ),
        (
            "Activités (2)!B4",
            "duplicate_activity",
            "Activité en double : même date, intitulé, type et modalité que la ligne 2 de la"
            " feuille « Activités ». Supprimez cette ligne si elle a été saisie deux fois.",
        ),
    ]
    assert (result.rows_read, result.rows_loaded) == (6, 5)
    loaded = result.activities[["source_sheet", "source_row"]].values.tolist()
    assert ["Activités", 3] in loaded and ["Activités (2)", 3] not in loaded


def test_an_activity_sheet_whose_header_does_not_match_rejects_the_return(tmp_path):
    path = _workbook_with_sheets(
        tmp_path / "IREV_2021.xlsx",
        {
            "Activités": [HEADER, *_actions(1, 5)],
            "Activités (2)": [[h for h in HEADER if h != "Modalité"], *_actions(6, 7)],
            "Activités - notes": [["Rien à déclarer"]],
        },
    )
    result = validate_return(path, 2021)
    assert (result.status, result.rows_loaded) == ("rejected", 0)
    assert [(f.location, f.rule, f.message) for f in result.findings] == [
        (
            "Activités (2), ligne 1",
            "activity_sheets_mismatch",
            "Plusieurs feuilles portent un nom de feuille d'activités (« Activités »,"
            " « Activités (2) », « Activités - notes »), mais pas toutes la ligne d'en-tête"
            " attendue : « Activités (2) » n'a pas la colonne « Modalité » (ligne 1) ;"
            " « Activités - notes » n'a pas de ligne d'en-tête dans ses 30 premières lignes."
            " Donnez à chacune les intitulés de colonnes du modèle dans ses 30 premières lignes,"
            " ou renommez celle qui ne contient pas d'activités, puis renvoyez le fichier.",
        )
    ]


def test_hidden_activity_sheets_stay_ignored(tmp_path):
    path = _workbook_with_sheets(
        tmp_path / "IREV_2021.xlsx",
        {
            "Activités": [HEADER, *_actions(1, 2)],
            "Activités (ancien)": [["vieux brouillon"]],
            "Activités 2020": [HEADER, *_actions(3, 4)],
        },
        hidden={"Activités (ancien)", "Activités 2020"},
    )
    result = validate_return(path, 2021)
    assert (result.status, result.rows_loaded, result.findings) == ("loaded", 2, [])


def test_rows_of_several_sheets_count_together_against_the_row_limit(tmp_path):
    path = _workbook_with_sheets(
        tmp_path / "IREV_2021.xlsx",
        {"Activités T1": [HEADER, *_actions(1, 3)], "Activités T2": [HEADER, *_actions(4, 3)]},
    )
    with pytest.raises(ReturnFileError) as err:
        read_return(path, default_nomenclature(), max_rows=5)
    assert (err.value.rule, err.value.sheet) == ("too_many_rows", "Activités T2")


def test_a_mismatch_lists_every_column_a_sheet_lacks(tmp_path):
    header = [h for h in HEADER if h not in ("Modalité", "Thématique principale")]
    path = _workbook_with_sheets(
        tmp_path / "IREV_2021.xlsx",
        {"Activités T1": [HEADER, *_actions(1, 2)], "Activités T2": [["Titre"], header]},
    )
    with pytest.raises(ReturnFileError) as err:
        read_return(path, default_nomenclature())
    assert (err.value.rule, err.value.sheet, err.value.row) == (
        "activity_sheets_mismatch",
        "Activités T2",
        2,
    )
    assert err.value.context["detail"] == (
        "« Activités T2 » n'a pas les colonnes « Modalité », « Thématique principale » (ligne 2)"
    )


READERS = {"python_calamine", "CalamineWorkbook", "load_workbook", "read_excel", "ExcelFile"}
"""What opens a spreadsheet: only ``reading.open_workbook`` may, after the file guards."""


def _opening_sites(tree) -> list[tuple[int, str]]:
    import ast

    sites = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = {alias.name.split(".")[0] for alias in node.names}
            if getattr(node, "module", None):
                names.add(node.module.split(".")[0])
            sites += [(node.lineno, name) for name in names & READERS]
        elif isinstance(node, ast.Attribute) and node.attr in READERS:
            sites.append((node.lineno, node.attr))
        elif isinstance(node, ast.Name) and node.id in READERS:
            sites.append((node.lineno, node.id))
    return sites


def test_only_open_workbook_opens_a_return():
    """No module but ``reading`` names a spreadsheet reader; there, only ``open_workbook`` opens.

    So every path that reads a centre's file (validation, correction workbooks, the stewards'
    overview, any command) runs the file guards first: ``open_workbook`` runs them itself.
    """
    import ast

    import crpv_pipeline

    package = Path(crpv_pipeline.__file__).parent
    elsewhere = {
        f"{path.relative_to(package)}:{line} {name}"
        for path in package.rglob("*.py")
        if path.name != "reading.py"
        for line, name in _opening_sites(ast.parse(path.read_text(encoding="utf-8")))
    }
    assert elsewhere == set()
    reading = ast.parse((package / "intake" / "reading.py").read_text(encoding="utf-8"))
    constructors = {
        function.name
        for function in ast.walk(reading)
        if isinstance(function, ast.FunctionDef)
        for node in ast.walk(function)
        if isinstance(node, ast.Attribute) and node.attr.startswith("from_")
    }
    assert constructors == {"open_workbook"}
    assert "guard(path, limits)" in ast.get_source_segment(
        (package / "intake" / "reading.py").read_text(encoding="utf-8"),
        next(f for f in ast.walk(reading) if getattr(f, "name", None) == "open_workbook"),
    )


def test_an_opened_workbook_hands_over_a_sheet_only_once_its_used_range_is_checked(tmp_path):
    from crpv_pipeline.intake.file_guards import Limits
    from crpv_pipeline.intake.reading import open_workbook

    path = write_return(tmp_path / "IREV_2021.xlsx", [VALID_ROW] * 3)  # 4 rows × 11 columns
    workbook = open_workbook(path, Limits(max_grid_cells=40))
    try:
        assert workbook.get_sheet_by_name("Identification").to_python()[0][1] == "IREV"
        with pytest.raises(ReturnFileError) as refused:
            workbook.get_sheet_by_name("Activités")
        assert refused.value.rule == "sheet_too_large"
    finally:
        workbook.close()
    (tmp_path / "bilan.csv").write_text("a;b\n")
    with pytest.raises(ReturnFileError) as refused:  # and the whole file, before it is opened
        open_workbook(tmp_path / "bilan.csv")
    assert refused.value.rule == "unsupported_format"
