"""Control characters in returns: removed before they are stored, escaped before they are shown.

A cell holding ``_x0000_`` (Excel's escape of NUL, which calamine decodes) once stopped the whole
year on PostgreSQL; an ANSI escape in a cell or a line feed in a file name reached the terminal
and the logs as they were.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import openpyxl
import pytest
import python_calamine

from crpv_pipeline.cli import main
from crpv_pipeline.intake.control_characters import (
    escape_controls,
    escape_unstorable,
    remove_unstorable,
    unstorable_codes,
)
from crpv_pipeline.intake.inbox import inbox_files
from crpv_pipeline.intake.validation import validate_return
from crpv_pipeline.orchestration.runs import materialize_year
from crpv_pipeline.warehouse.engine import create_warehouse_engine
from crpv_pipeline.warehouse.tables import read_table
from crpv_pipeline.year.validate import validate_year
from crpv_pipeline_tests.workbooks import VALID_ROW, row, write_return

NUL = "_x0000_"  # what openpyxl writes for this string, and what calamine reads as "\x00"
ESC = "_x001B_"


def _with_cells(path: Path, activities: dict[str, str], contact: str | None = None) -> Path:
    """Write strings into cells of the ``Activités`` sheet, and a Contact on Identification."""
    wb = openpyxl.load_workbook(path)
    ws = wb["Activités"]
    for ref, value in activities.items():
        ws[ref].value = value
        ws[ref].data_type = "s"
    if contact is not None:
        wb["Identification"].append(["Contact", contact])
    wb.save(path)
    return path


def test_calamine_reads_the_escape_openpyxl_writes_as_a_control_character(tmp_path):
    path = _with_cells(write_return(tmp_path / "IREV_2021.xlsx"), {"K2": f"a{NUL}b{ESC}c"})
    workbook = python_calamine.CalamineWorkbook.from_path(str(path))
    try:
        assert workbook.get_sheet_by_name("Activités").to_python()[1][10] == "a\x00b\x1bc"
    finally:
        workbook.close()


@pytest.mark.parametrize(
    ("text", "kept", "codes"),
    [
        ("a\x00b", "ab", "U+0000"),
        ("\x1b]0;titre\x07Bonjour\x1b[2J", "]0;titreBonjour[2J", "U+0007, U+001B"),
        ("ligne 1\nligne 2\r\n\tfin", "ligne 1\nligne 2\r\n\tfin", ""),  # XML holds these
        ("\x0b\x0c\x1f\ufffe\uffff", "", "U+000B, U+000C, U+001F, U+FFFE, U+FFFF"),
        ("é\u200b\x7f\x85", "é\u200b\x7f\x85", ""),  # PostgreSQL and XML 1.0 hold these
    ],
)
def test_what_no_warehouse_or_workbook_holds_is_removed(text, kept, codes):
    assert remove_unstorable(text) == kept
    assert unstorable_codes(text) == codes
    assert "\x00" not in escape_unstorable(text)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\x1b]0;pwned\x07\x1b[2J", "\\x1b]0;pwned\\x07\\x1b[2J"),
        ("IREV\n2021\r.xlsx\t", "IREV\\n2021\\r.xlsx\\t"),
        ("a\x00b\x7f\x9b", "a\\x00b\\x7f\\x9b"),
        ("\u202eelif\u2028x\u200e", "\\u202eelif\\u2028x\\u200e"),
        ("Éducation « 14,8 % » \\x00", "Éducation « 14,8 % » \\x00"),
    ],
)
def test_text_shown_on_a_terminal_has_its_controls_written_out(text, shown):
    assert escape_controls(text) == shown


def test_removed_characters_are_a_warning_that_names_the_cell(tmp_path):
    path = write_return(tmp_path / "2021" / "IREV_2021.xlsx", [VALID_ROW, row(title="B")])
    _with_cells(
        path,
        {"B2": f"Formation{NUL} laïcité", "J2": f"DRA{NUL}JES", "K2": NUL, "D3": f"75{NUL}"},
        contact=f"Jean{NUL} Dupont",
    )
    result = validate_return(path, 2021)
    found = [(f.location, f.rule, f.severity, f.value) for f in result.findings]
    assert found == [
        ("Identification!B4", "control_characters_removed", "warning", "Jean\\x00 Dupont"),
        ("Activités!B2", "control_characters_removed", "warning", "Formation\\x00 laïcité"),
        ("Activités!J2", "control_characters_removed", "warning", "DRA\\x00JES"),
        ("Activités!K2", "control_characters_removed", "warning", "\\x00"),
        ("Activités!D3", "control_characters_removed", "warning", "75\\x00"),
        ("Activités!D3", "half_days_out_of_range", "error", "75"),
    ]
    assert result.findings[2].message == (
        "La cellule contient des caractères de contrôle invisibles (U+0000) qu'aucune base de"
        " données ni aucun tableur ne peut enregistrer : ils ont été retirés et « DRAJES » a été"
        " enregistré. Retirez-les de la cellule dans votre fichier."
    )
    assert result.findings[1].field == "title" and result.findings[0].field is None
    activity = result.activities.iloc[0]
    assert (activity["title"], activity["partners"], activity["comment"]) == (
        "Formation laïcité",
        "DRAJES",
        None,
    )
    assert result.rows_loaded == 1  # row 3 quarantined for its 75 half-days, not for the NUL


def test_a_rejected_return_says_what_was_removed_from_its_identification(tmp_path):
    path = write_return(tmp_path / "2021" / "x.xlsx", centre=f"Centre{NUL} imaginaire")
    _with_cells(path, {}, contact=f"{NUL}Jean")
    result = validate_return(path, 2021)
    assert result.status == "rejected"
    assert [(f.location, f.rule, f.value) for f in result.findings] == [
        ("Identification!B1", "unknown_centre", "Centre imaginaire"),
        ("Identification!B1", "control_characters_removed", "Centre\\x00 imaginaire"),
        ("Identification!B4", "control_characters_removed", "\\x00Jean"),
    ]


def test_a_sheet_name_or_label_that_holds_them_is_stored_written_out(tmp_path):
    """Text kept as written (column labels, sheet names) never carries them into a finding."""
    from crpv_pipeline_tests.workbooks import HEADER

    path = write_return(tmp_path / "IREV_2021.xlsx", header=[*HEADER, f"Notes{NUL}"])
    result = validate_return(path, 2021)
    assert [(f.rule, f.column_label) for f in result.findings] == [("extra_columns", "Notes\\x00")]
    assert "\x00" not in result.findings[0].message


def test_a_left_to_right_mark_after_a_centre_name_is_no_unknown_centre(tmp_path):
    path = write_return(tmp_path / "2021" / "x.xlsx", centre="RésO Villes\u200e")
    result = validate_return(path, 2021)
    assert (result.status, result.centre_code, result.findings) == ("loaded", "RESOVILLES", [])


def _hostile_year(tmp_path: Path) -> str:
    """An inbox for 2021: NUL in a loaded return's cells, Identification and file name, a
    quarantined cell, and a rejected return with NUL in its Identification."""
    folder = tmp_path / "inbox" / "2021"
    loaded = write_return(folder / "x.xlsx", [VALID_ROW, row(title="B"), row(title="C")])
    _with_cells(
        loaded,
        {
            "B2": f"Formation{NUL} laïcité",
            "J2": f"DRA{NUL}JES",
            "K2": f"Deux{NUL} séances{ESC}[2J",
            "A3": f"31/02/2021{NUL}",  # quarantined
            "K4": NUL,
        },
        contact=f"Jean{NUL} Dupont",
    )
    name = "Bilan IREV\x01 2021\n\x1b[31m.xlsx"
    os.rename(loaded, folder / name)
    rejected = write_return(folder / "inconnu.xlsx", centre=f"Centre{NUL} imaginaire")
    _with_cells(rejected, {}, contact=f"Marie{NUL}")
    return name


_VARYING = {"received_at", "loaded_at", "run_id", "started_at", "finished_at"}


def _stored(url: str) -> dict[str, list[dict]]:
    engine = create_warehouse_engine(url)
    try:
        tables = {}
        for table in ("submission", "fact_activity", "validation_failure", "completeness"):
            frame = read_table(engine, table)
            frame = frame.drop(columns=[c for c in frame.columns if c in _VARYING])
            tables[table] = frame.astype(object).where(frame.notna(), None).to_dict("records")
        return tables
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_year_with_nul_everywhere_runs_alike_on_sqlite_and_postgresql(
    tmp_path, sqlite_url, pg_url
):
    name = _hostile_year(tmp_path)
    stored = {}
    for url in (sqlite_url, pg_url):
        result = materialize_year(
            2021,
            tmp_path / "inbox",
            url,
            instance=dg.DagsterInstance.ephemeral(),
            output=tmp_path / "out" / url.split(":")[0],
        )
        assert result.success
        stored[url] = _stored(url)
    assert stored[sqlite_url] == stored[pg_url]
    tables = stored[pg_url]
    texts = [v for rows in tables.values() for r in rows for v in r.values() if type(v) is str]
    assert not [t for t in texts if "\x00" in t or "\x1b" in t]
    shown_name = "Bilan IREV\\x01 2021\\n\\x1b[31m.xlsx"
    assert [(s["file_name"], s["status"]) for s in tables["submission"]] == [
        (shown_name, "loaded_with_errors"),
        ("inconnu.xlsx", "rejected"),
    ]
    assert [
        (a["source_row"], a["title"], a["partners"], a["comment"]) for a in tables["fact_activity"]
    ] == [
        (2, "Formation laïcité", "DRAJES", "Deux séances[2J"),
        (4, "C", "DRAJES", None),
    ]
    failures = [
        (f["file_name"], f["sheet"], f["cell"], f["rule"], f["value"])
        for f in tables["validation_failure"]
    ]
    assert failures == [
        (shown_name, "Identification", "B4", "control_characters_removed", "Jean\\x00 Dupont"),
        (shown_name, "Activités", "B2", "control_characters_removed", "Formation\\x00 laïcité"),
        (shown_name, "Activités", "J2", "control_characters_removed", "DRA\\x00JES"),
        (
            shown_name,
            "Activités",
            "K2",
            "control_characters_removed",
            "Deux\\x00 séances\\x1b[2J",
        ),
        (shown_name, "Activités", "A3", "control_characters_removed", "31/02/2021\\x00"),
        (shown_name, "Activités", "A3", "date_invalid", "31/02/2021"),
        (shown_name, "Activités", "K4", "control_characters_removed", "\\x00"),
        ("inconnu.xlsx", "Identification", "B1", "unknown_centre", "Centre imaginaire"),
        (
            "inconnu.xlsx",
            "Identification",
            "B1",
            "control_characters_removed",
            "Centre\\x00 imaginaire",
        ),
        ("inconnu.xlsx", "Identification", "B4", "control_characters_removed", "Marie\\x00"),
    ]
    assert (tmp_path / "inbox" / "2021" / name).is_file()


def test_validate_prints_cells_and_file_names_with_their_controls_written_out(tmp_path, capsys):
    folder = tmp_path / "2021"
    path = write_return(folder / "x.xlsx", [VALID_ROW, row(title="B")])
    _with_cells(path, {"D3": f"{ESC}]0;pwned_x0007_{ESC}[2J\n2,5"})
    named = folder / "IREV\n2021.xlsx"
    os.rename(path, named)
    assert main(["validate", str(named)]) == 1
    out = capsys.readouterr().out
    shown = str(folder).replace("\n", "\\n") + "/IREV\\n2021.xlsx"
    assert out == (
        f"{shown}: loaded_with_errors — centre IREV, année 2021, 1/2 lignes chargeables,"
        " 1 erreur(s), 1 avertissement(s)\n"
        "  Activités!D3 [avertissement] Caractères de contrôle retirés : La cellule contient des"
        " caractères de contrôle invisibles (U+0007, U+001B) qu'aucune base de données ni aucun"
        " tableur ne peut enregistrer : ils ont été retirés et « ]0;pwned[2J\\n2,5 » a été"
        " enregistré. Retirez-les de la cellule dans votre fichier.\n"
        "  Activités!D3 [erreur] Demi-journées : nombre entier attendu : « ]0;pwned[2J\\n2,5 »"
        " n'est pas un nombre entier de demi-journées : saisissez un nombre entier de 1 à 60.\n"
    )
    assert "\x1b" not in out and out.count("\n") == 3


def test_a_log_line_naming_a_file_cannot_be_forged(tmp_path):
    folder = tmp_path / "inbox" / "2021"
    path = write_return(folder / "x.xlsx")
    os.rename(path, folder / "IREV\n[2-2] ORIV_2021.xlsx: loaded\n.xlsx")
    lines: list[str] = []
    validate_year(inbox_files(tmp_path / "inbox", 2021), 2021, progress=lines.append)
    assert lines == [
        "[1/1] IREV\\n[2-2] ORIV_2021.xlsx: loaded\\n.xlsx: loaded, 1/1 rows, 0 errors, 0 warnings"
    ]
