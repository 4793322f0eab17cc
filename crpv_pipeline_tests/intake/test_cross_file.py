from crpv_pipeline.intake.cross_file import reject_duplicate_centres
from crpv_pipeline.reference.refdata import default_nomenclature
from crpv_pipeline_tests.factories import make_result


def test_two_files_for_one_centre_are_both_rejected_and_the_inputs_left_as_they_were():
    first = make_result(file_name="IREV_2021.xlsx")
    second = make_result(file_name="IREV bis.xlsx")
    other = make_result(centre_code="ORIV")
    results = reject_duplicate_centres([first, second, other], default_nomenclature())
    assert [(r.file_name, r.rejected, r.rows_read) for r in results] == [
        ("IREV_2021.xlsx", True, 0),
        ("IREV bis.xlsx", True, 0),
        ("ORIV_2021.xlsx", False, 3),
    ]
    assert [f.rule for f in results[0].findings] == ["duplicate_file"]
    assert "IREV_2021.xlsx, IREV bis.xlsx" in results[0].findings[0].message
    assert results[0].activities.empty and results[2] is other
    assert (first.rejected, len(first.activities), first.findings) == (False, 3, [])
