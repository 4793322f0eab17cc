"""A run of a year where nothing changed writes no file for people; a resubmission does.

Through Dagster, as ``crpv run`` does, on SQLite and PostgreSQL: every output file (the bilan's
page and workbook, the stewards' overview, the correction workbooks and the folder's record of
them) keeps its bytes, its inode and its modification time, and the run says the outputs were
left as they are.
"""

import pytest

from crpv_pipeline.orchestration.asset_metadata import LEFT_AS_IS
from crpv_pipeline.outputs.fingerprint import RECORD_NAME
from crpv_pipeline_tests.workbooks import row, write_return
from crpv_pipeline_tests.year.test_year import IREV_ROWS, ORIV_ROWS, run

ORIV_WORKBOOK = "corrections/corrections_ORIV_2021_ORIV_2021.xlsx"
UNKNOWN_WORKBOOK = "corrections/corrections_centre_inconnu_2021_inconnu.xlsx"
OUTPUTS = {
    "bilan_2021.html",
    "bilan_2021.xlsx",
    "suivi_bilans_2021.xlsx",
    RECORD_NAME,
    ORIV_WORKBOOK,
    UNKNOWN_WORKBOOK,
}


@pytest.fixture
def inbox(tmp_path):
    folder = tmp_path / "inbox" / "2021"
    write_return(folder / "Bilan IREV 2021.xlsx", IREV_ROWS)
    write_return(folder / "ORIV_2021.xlsx", ORIV_ROWS, identification=False)
    write_return(folder / "inconnu.xlsx", centre="Centre imaginaire")
    return folder


def files(folder) -> dict[str, tuple[bytes, int, int]]:
    """Every file under ``folder``: its bytes, inode and modification time (ns)."""
    return {
        path.relative_to(folder).as_posix(): (
            path.read_bytes(),
            path.stat().st_ino,
            path.stat().st_mtime_ns,
        )
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def metadata(result, asset: str) -> dict:
    (materialisation,) = result.asset_materializations_for_node(asset)
    return {key: value.value for key, value in materialisation.metadata.items()}


def test_a_rerun_with_nothing_changed_leaves_every_output_untouched(tmp_path, inbox, warehouse_url):
    first = run(tmp_path, warehouse_url)
    folder = tmp_path / "out" / "2021"
    before = files(folder)
    assert set(before) == OUTPUTS
    assert metadata(first, "bilan_report")["outcome"] == "written"

    second = run(tmp_path, warehouse_url)
    assert files(folder) == before  # bytes, inode and modification time
    assert metadata(second, "bilan_report")["outcome"] == LEFT_AS_IS
    assert metadata(second, "steward_overview")["outcome"] == LEFT_AS_IS
    assert metadata(second, "correction_workbooks")["workbooks_left_as_is"] == 2

    # ORIV sends a corrected return: the bilan and the overview change, ORIV's correction
    # workbook goes away, the unknown centre's stays as it was.
    write_return(
        inbox / "ORIV_2021.xlsx",
        [ORIV_ROWS[0], row(title="Corrigée", half_days=2)],
        identification=False,
    )
    third = run(tmp_path, warehouse_url)
    after = files(folder)
    assert set(after) == OUTPUTS - {ORIV_WORKBOOK}
    assert {name for name in after if after[name][0] != before[name][0]} == {
        "bilan_2021.html",
        "bilan_2021.xlsx",
        "suivi_bilans_2021.xlsx",
        RECORD_NAME,
    }
    assert after[UNKNOWN_WORKBOOK] == before[UNKNOWN_WORKBOOK]
    assert metadata(third, "bilan_report")["outcome"] == "written"
    assert metadata(third, "steward_overview")["outcome"] == "written"
