"""The national summary line counts only exploitable returns: not rejected, not empty ones."""

from crpv_pipeline.outputs.summary import national_summary
from crpv_pipeline.reference.refdata import default_nomenclature
from crpv_pipeline.warehouse.derive import derive_year
from crpv_pipeline_tests.factories import make_result
from crpv_pipeline_tests.tables import load


def test_centres_without_an_exploitable_return_are_not_counted(engine, warehouse_url):
    codes = sorted(c.code for c in default_nomenclature().centres)
    assert len(codes) == 17
    for code in codes:
        if code == "VILLECARAIBE":  # its only return rejected
            load(engine, make_result(centre_code=code, rejected=True, rows_read=0))
        elif code == "MAYOTTE":  # the blank template sent back
            load(engine, make_result(centre_code=code, activities=[], rows_read=0))
        elif code != "CRCSUR":  # CRCSUR sends nothing
            load(engine, make_result(centre_code=code))
    derive_year(engine, 2021)
    first = national_summary(warehouse_url, 2021).splitlines()[0]
    assert first == "Bilan national 2021 — 14 centres sur 17 ont transmis un bilan exploitable"
