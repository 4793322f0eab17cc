import re
from pathlib import Path

import pytest
import xlsxwriter

from crpv_pipeline.model import ReturnResult, empty_activities
from crpv_pipeline.outputs.correction_names import (
    copy_sheet_names,
    correction_file_name,
    made_for,
)
from crpv_pipeline.outputs.corrections import CORRECTIONS_SHEET, write_correction_workbook
from crpv_pipeline_tests.factories import finding

SHA = "a" * 64
ACTIVITIES_2021 = "Activités de l'année 2021 —"  # 27 characters


def bare_result(name: str, centre: str | None = "IREV", sha: str = SHA) -> ReturnResult:
    return ReturnResult(Path("inbox") / name, sha, 2021, centre, "1", 0, empty_activities())


def test_file_names_that_look_alike_get_workbooks_of_their_own():
    names = [
        "Bilan 2021.xlsx",
        "Bilan_2021.xlsx",
        "Bilan (2021).xlsx",
        "Bilan_2021.ods",
        "Bilan_2021.XLSX",
        "bilan_2021.xlsx",
        "Bilan__2021.xlsx",
        "Bilan-2021.xlsx",
        "Bilan--2021.xlsx",
        "Bilän 2021.xlsx",
        "B" * 90 + ".xlsx",
        "B" * 90 + "x.xlsx",
        "Bilan 2021\udcff.xlsx",  # a byte that is not UTF-8
        "Bilan 2021\udcfe.xlsx",
    ]
    workbooks = [correction_file_name(bare_result(n)) for n in names]
    assert len(set(workbooks)) == len(names)
    assert all(re.fullmatch(r"corrections_IREV_2021_[A-Za-z0-9_-]+\.xlsx", w) for w in workbooks)
    assert workbooks == [correction_file_name(bare_result(n)) for n in names]  # every run
    assert workbooks[:3] == [
        "corrections_IREV_2021_Bilan_2021--48d7147414.xlsx",
        "corrections_IREV_2021_Bilan_2021.xlsx",
        "corrections_IREV_2021_Bilan_2021--8e451e30c4.xlsx",
    ]


def test_a_key_names_the_workbook_when_the_same_file_name_comes_from_two_folders():
    result = bare_result("IREV_2021.xlsx")
    first = correction_file_name(result, "/a/IREV_2021.xlsx")
    second = correction_file_name(result, "/b/IREV_2021.xlsx")
    assert first != second and first.startswith("corrections_IREV_2021_IREV_2021--")


def test_valid_sheet_names_are_kept():
    names = ["Identification", "Activités", "Notes de l'équipe", "A" * 31]
    assert copy_sheet_names(names, [CORRECTIONS_SHEET]) == {n: n for n in names}


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["Act[1]"], ["Act_1_"]),
        (["A/B", "A:B", "A*B?", "C\\D"], ["A_B", "A_B (2)", "A_B_", "C_D"]),
        (["'Activ'", "''", " "], ["Activ", "Feuille", "Feuille (2)"]),
        (["Activités", "ACTIVITÉS", "activités"], ["Activités", "ACTIVITÉS (2)", "activités (3)"]),
        (  # an .ods holds names longer than 31 characters
            [f"{ACTIVITIES_2021} centre de ressources", f"{ACTIVITIES_2021} cen…"],
            [f"{ACTIVITIES_2021} cen", f"{ACTIVITIES_2021} (2)"],
        ),
        (["corrections à apporter", "History"], ["corrections à apporter (2)", "History (2)"]),
        (["😀" * 20], ["😀" * 15]),  # 31 UTF-16 units at most: 15 pairs
        (["Feuille\x01"], ["Feuille_"]),
        (["A'" + "b" * 28 + "'c"], ["A'" + "b" * 28]),  # cut, then its apostrophe taken off
    ],
)
def test_sheet_names_excel_refuses_are_mended_and_unique(names, expected):
    mapping = copy_sheet_names(names, [CORRECTIONS_SHEET])
    assert [mapping[n] for n in names] == expected
    workbook = xlsxwriter.Workbook(None, {"in_memory": True})
    workbook.add_worksheet(CORRECTIONS_SHEET)
    for name in mapping.values():
        workbook.add_worksheet(name)  # XlsxWriter applies Excel's rules: no exception


def test_made_for_recognises_only_a_whole_workbook_of_that_return(tmp_path):
    result = bare_result("IREV_2021.xlsx")
    result.findings.append(finding())
    out = write_correction_workbook(result, tmp_path / "c.xlsx")
    assert made_for(out, SHA)
    assert not made_for(out, "b" * 64)
    assert not made_for(out, None)
    assert not made_for(tmp_path / "absent.xlsx", SHA)
    data = out.read_bytes()
    for name, content in [("empty", b""), ("cut", data[: len(data) // 2]), ("cut1", data[:-1])]:
        (tmp_path / f"{name}.xlsx").write_bytes(content)
        assert not made_for(tmp_path / f"{name}.xlsx", SHA), name
    older = bare_result("IREV_2021.xlsx", sha="")  # a workbook that recorded no SHA-256
    older.findings.append(finding())
    assert not made_for(write_correction_workbook(older, tmp_path / "old.xlsx"), SHA)
