"""Plausibility warnings: a centre against its own previous year and against its peers.

On both backends, with the thresholds of reference/data/plausibility.csv: half-days and
activities that fell by 60 %, a theme that took 50 points of a centre's half-days, one centre's
half-days per training far from the others' (median and MAD), a centre silent after the
deadline; then a warning accepted, which the rebuild keeps.
"""

import datetime as dt

from crpv_pipeline.warehouse.derive import derive_year
from crpv_pipeline.warehouse.review import take_decision
from crpv_pipeline_tests.factories import activity, make_result
from crpv_pipeline_tests.tables import load, rows

PEERS = {"CRPVE": 2, "ORIV": 3, "TRAJECTOIRE": 2, "PQNA": 3, "RESOVILLES": 4, "LABOCITES": 20}


def actions(year, n, half_days=2, theme="EDUCATION", **values):
    return [
        activity(
            activity_date=dt.date(year, 1, 4) + dt.timedelta(days=7 * i),
            title=f"Action {i}",
            half_days=half_days,
            theme_code=theme,
            **values,
        )
        for i in range(n)
    ]


def warnings(engine, year=2021):
    return {
        (r["centre_code"], r["rule"], r["subject"]): r for r in rows(engine, "plausibility_finding")
    }


def test_plausibility_warnings_compare_a_centre_with_itself_and_its_peers(engine):
    load(engine, make_result(year=2020, activities=actions(2020, 10, half_days=4)))
    load(engine, make_result(year=2020, centre_code="MAYOTTE", activities=actions(2020, 3)))
    derive_year(engine, 2020)
    assert warnings(engine) == {}  # no previous year to compare with, and nobody silent

    fewer = actions(2021, 2, half_days=4) + actions(
        2021, 2, half_days=4, theme="SANTE"
    )  # 4 activities, half in SANTE
    irev = make_result(activities=fewer)
    load(engine, irev)
    for centre, ratio in PEERS.items():
        load(engine, make_result(centre_code=centre, activities=actions(2021, 2, half_days=ratio)))
    derive_year(engine, 2021)

    found = warnings(engine)
    assert set(found) == {
        ("IREV", "plausibility_half_days_change", "all"),
        ("IREV", "plausibility_activities_change", "all"),
        ("IREV", "plausibility_theme_share_shift", "EDUCATION"),
        ("IREV", "plausibility_theme_share_shift", "SANTE"),
        ("LABOCITES", "plausibility_half_days_per_activity", "FORMATION"),
        ("MAYOTTE", "plausibility_missing_return", "return"),
    }
    half_days = found[("IREV", "plausibility_half_days_change", "all")]
    assert half_days["message"] == (
        "16 demi-journées en 2021 contre 40 en 2020 (-60,0\u00a0%) : vérifiez que le bilan est"
        " complet et que chaque durée est bien comptée en demi-journées."
    )
    assert (half_days["value"], half_days["reference"], half_days["threshold"]) == (16, 40, 50)
    assert half_days["file_sha256"] == irev.file_sha256
    assert half_days["finding_key"] == "plausibility_half_days_change@all"
    shift = found[("IREV", "plausibility_theme_share_shift", "SANTE")]["message"]
    assert shift.startswith(
        "La thématique « Santé » représente 50,0\u00a0% des demi-journées en 2021 contre"
        " 0,0\u00a0% en 2020 (+50,0 points)"
    )
    peer = found[("LABOCITES", "plausibility_half_days_per_activity", "FORMATION")]
    assert peer["message"].startswith(
        "20,0 demi-journées par activité de type « Formation » (2 activités), loin de ce que"
        " déclarent les autres centres en 2021 (médiane : 3,0)"
    )
    missing = found[("MAYOTTE", "plausibility_missing_return", "return")]
    assert missing["submission_id"] is None and missing["message"] == (
        "Le centre a transmis un bilan pour 2020 (3 activités) mais aucun fichier pour 2021, et"
        " la date limite (31/03/2022, 23 h 59, heure de Paris) est passée : relancez-le."
    )

    # Open warnings keep IREV's return from being reviewed; accepted ones stop counting.
    irev_line = next(r for r in rows(engine, "completeness", 2021) if r["centre_code"] == "IREV")
    assert (irev_line["approval"], irev_line["open_findings"]) == ("received", 4)
    for key in (
        "plausibility_half_days_change@all",
        "plausibility_activities_change@all",
        "plausibility_theme_share_shift@EDUCATION",
        "plausibility_theme_share_shift@SANTE",
    ):
        take_decision(
            engine, 2021, "accept", irev.file_sha256, finding=key, reason="fusion", decided_by="c"
        )
    derive_year(engine, 2021)  # a rebuild: the warnings come back, still accepted
    irev_line = next(r for r in rows(engine, "completeness", 2021) if r["centre_code"] == "IREV")
    assert (irev_line["approval"], irev_line["open_findings"]) == ("reviewed", 0)
    assert len(warnings(engine)) == 6
