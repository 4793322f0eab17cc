"""Held returns: a resubmission never shrinks a centre's loaded data to nothing by itself.

Walks one centre through a loaded return, a blank template sent back, a resubmission whose rows
are all invalid and one that drops most activities, on both backends; then a first return that
is empty, which is no exploitable return.
"""

import datetime as dt

import openpyxl
import pytest
import sqlalchemy as sa

from crpv_pipeline.orchestration.asset_metadata import completeness_check
from crpv_pipeline.warehouse.derive import derive_year
from crpv_pipeline.warehouse.engine import create_warehouse_engine
from crpv_pipeline.warehouse.reconciliation import completeness_of
from crpv_pipeline.warehouse.schema import ensure_schema
from crpv_pipeline.warehouse.tables import count_rows
from crpv_pipeline.year.outputs import write_year_overview
from crpv_pipeline_tests.factories import activity, finding, make_result
from crpv_pipeline_tests.tables import load, rows
from crpv_pipeline_tests.warehouse_v1 import load_warehouse_v1

FIFTEEN = [
    activity(activity_date=dt.date(2021, 1, 4) + dt.timedelta(days=7 * i), title=f"Action {i}")
    for i in range(15)
]

HELD_EMPTY = (
    "Le bilan ne contient aucune ligne d'activité : il n'est pas mis en vigueur et le bilan"
    " précédent (« IREV_2021.xlsx », 15 activités) reste pris en compte jusqu'à la décision d'un"
    " référent de l'ANCT. S'il a été envoyé par erreur, renvoyez le bilan complet."
)
HELD_INVALID = (
    "Aucune des lignes d'activité du bilan (3 lignes) n'est valide : il n'est pas mis en vigueur"
    " et le bilan précédent (« IREV_2021.xlsx », 15 activités) reste pris en compte jusqu'à la"
    " décision d'un référent de l'ANCT. Corrigez les erreurs signalées et renvoyez le bilan"
    " complet."
)
DROPPED = (
    "6 activités contre 15 dans le bilan précédent (« IREV_2021.xlsx ») : le bilan est chargé et"
    " remplace le précédent, mais vérifiez qu'il est complet. S'il manque des activités, renvoyez"
    " le bilan complet."
)
NOT_EXPLOITABLE = (
    "Aucune activité n'a pu être chargée de ce bilan (il n'en contient aucune, ou aucune de ses"
    " lignes n'est valide) : il ne compte pas comme un bilan exploitable pour 2021. Saisissez les"
    " activités dans la feuille « Activités », corrigez les erreurs signalées et renvoyez le bilan."
)


def blank(name="IREV_2021_vide.xlsx", centre_code="IREV"):
    """The blank template sent back: no activity row."""
    return make_result(centre_code=centre_code, file_name=name, activities=[], rows_read=0)


def all_invalid(name="IREV_2021_v3.xlsx", centre_code="IREV"):
    """Three activity rows, each quarantined."""
    errors = [finding(row_number=n, cell=f"A{n}", file_name=name) for n in (2, 3, 4)]
    return make_result(centre_code=centre_code, file_name=name, activities=[], findings=errors)


def irev(engine):
    """IREV's line of completeness once the year is derived, and the year's summary."""
    derive_year(engine, 2021)
    line = next(r for r in rows(engine, "completeness", 2021) if r["centre_code"] == "IREV")
    return line, rows(engine, "yearly_summary", 2021)[0]


def holding_findings(engine, submission_id):
    return [
        (f["rule"], f["severity"], f["message"])
        for f in rows(engine, "validation_failure")
        if f["submission_id"] == submission_id and f["sheet"] is None
    ]


def test_a_resubmission_never_empties_a_loaded_centre(engine):
    first = load(engine, make_result(activities=FIFTEEN))
    assert (first.action, first.rows_loaded) == ("loaded", 15)

    # The blank template sent back: held, the 15 activities stay in force.
    held = load(engine, blank(), run_id="run-2")
    assert (held.action, held.status, held.rows_loaded, held.superseded_ids) == (
        "held",
        "held",
        0,
        (),
    )
    assert count_rows(engine, "fact_activity", 2021) == 15
    submissions = {s["submission_id"]: s for s in rows(engine, "submission")}
    assert [submissions[i]["status"] for i in (1, 2)] == ["loaded", "held"]
    assert submissions[2]["rows_loaded"] == 0 and submissions[2]["half_days_after"] is None
    assert submissions[2]["replaces_submission_id"] is None
    assert holding_findings(engine, 2) == [("empty_return", "warning", HELD_EMPTY)]
    line, summary = irev(engine)
    assert (line["status"], line["submission_id"], line["rows_loaded"]) == ("loaded", 1, 15)
    assert line["held_submission_id"] == 2
    assert summary["centres_reporting"] == 1 and summary["n_activities"] == 15

    # The same blank file again: recorded already, not held a second time.
    again = load(engine, blank(), run_id="run-3")
    assert (again.action, again.submission_id) == ("unchanged", 2)
    assert count_rows(engine, "submission") == 2

    # Every row invalid: held too; it replaces the held blank one, not the return in force.
    invalid = load(engine, all_invalid(), run_id="run-4")
    assert (invalid.action, invalid.status, invalid.n_errors) == ("held", "held", 3)
    assert count_rows(engine, "fact_activity", 2021) == 15
    statuses = [s["status"] for s in rows(engine, "submission")]
    assert statuses == ["loaded", "superseded", "held"]
    assert holding_findings(engine, 3) == [("no_valid_row", "warning", HELD_INVALID)]
    line, _ = irev(engine)
    assert (line["status"], line["submission_id"], line["held_submission_id"]) == ("loaded", 1, 3)

    # Six valid rows: loaded, with a warning giving 15 → 6.
    six = load(engine, make_result(activities=FIFTEEN[:6], file_name="IREV_2021_v4.xlsx"))
    assert (six.action, six.status, six.rows_loaded, six.superseded_ids) == (
        "loaded",
        "loaded",
        6,
        (1,),
    )
    assert six.n_warnings == 1
    assert count_rows(engine, "fact_activity", 2021) == 6
    statuses = [s["status"] for s in rows(engine, "submission")]
    assert statuses == ["superseded", "superseded", "superseded", "loaded"]
    assert holding_findings(engine, 4) == [("activities_dropped", "warning", DROPPED)]
    line, summary = irev(engine)
    assert (line["status"], line["submission_id"], line["rows_loaded"]) == ("loaded", 4, 6)
    assert line["held_submission_id"] is None
    assert summary["centres_reporting"] == 1 and summary["n_activities"] == 6

    # The same six read again (a run reading every file): judged as when loaded, unchanged.
    same = load(engine, make_result(activities=FIFTEEN[:6], file_name="IREV_2021_v4.xlsx"))
    assert (same.action, same.submission_id, same.n_warnings) == ("unchanged", 4, 1)


def test_a_resubmission_keeping_half_of_the_activities_loads_without_warning(engine):
    load(engine, make_result(activities=FIFTEEN[:6]))
    half = load(engine, make_result(activities=FIFTEEN[:3], file_name="IREV_2021_v2.xlsx"))
    assert (half.action, half.n_warnings) == ("loaded", 0)


def test_an_empty_first_return_is_no_exploitable_return(engine):
    load(engine, make_result(activities=FIFTEEN))
    empty = load(engine, blank("ORIV_2021.xlsx", "ORIV"))
    invalid = load(engine, all_invalid("VTO_2021.xlsx", "VTO"))
    assert (empty.action, empty.status) == ("loaded", "loaded")  # nothing in force to protect
    assert (invalid.action, invalid.status) == ("loaded", "loaded_with_errors")
    assert holding_findings(engine, empty.submission_id) == [
        ("return_not_exploitable", "warning", NOT_EXPLOITABLE)
    ]
    load(engine, make_result(centre_code="CRPVE", rejected=True, rows_read=0))
    derive_year(engine, 2021)
    statuses = {r["centre_code"]: r["status"] for r in rows(engine, "completeness", 2021)}
    assert {c: statuses[c] for c in ("IREV", "ORIV", "VTO", "CRPVE", "MAYOTTE")} == {
        "IREV": "loaded",
        "ORIV": "empty",
        "VTO": "empty",
        "CRPVE": "rejected",
        "MAYOTTE": "missing",
    }
    assert rows(engine, "yearly_summary", 2021)[0]["centres_reporting"] == 1

    # A later empty return has nothing to protect either: it is put in force, still empty.
    later = load(engine, blank("ORIV_2021_v2.xlsx", "ORIV"), run_id="run-2")
    assert (later.action, later.superseded_ids) == ("loaded", (empty.submission_id,))


def test_the_steward_overview_says_which_return_is_in_force_and_which_is_held(engine, tmp_path):
    load(engine, make_result(activities=FIFTEEN))
    load(engine, blank(), run_id="run-2")
    load(engine, blank("ORIV_2021.xlsx", "ORIV"))
    derive_year(engine, 2021)
    sheet = openpyxl.load_workbook(write_year_overview(engine, 2021, tmp_path))["Complétude"]
    lines = {r[0]: r for r in sheet.iter_rows(min_row=5, values_only=True)}
    assert lines["IREV"][2] == (
        "Chargé : soumission 1 en vigueur ; bilan plus récent « IREV_2021_vide.xlsx »"
        " (soumission 2) en attente de la décision d'un référent"
    )
    assert (lines["IREV"][4], lines["ORIV"][2], lines["ORIV"][4]) == (15, "Vide", 0)
    assert "1 vide" in sheet["A2"].value


def test_missing_returns_warns_for_each_centre_without_an_exploitable_return(engine):
    load(engine, blank("ORIV_2021.xlsx", "ORIV"))
    load(engine, make_result(centre_code="VILLECARAIBE", rejected=True, rows_read=0))
    for code in ("IREV", "CRPVE", "POLERESSOURCES", "PROFBANLIEUE", "TRAJECTOIRE"):
        load(engine, make_result(centre_code=code))
    derive_year(engine, 2021)
    state = completeness_of(engine, 2021)
    assert ("ORIV", "empty") in state.not_exploitable
    assert ("VILLECARAIBE", "rejected") in state.not_exploitable
    assert ("MAYOTTE", "missing") in state.not_exploitable
    assert len(state.not_exploitable) == 17 - 5 and "ORIV" not in state.missing
    check = completeness_check(2021, state)
    assert not check.passed
    assert check.description.startswith(
        "12 of 17 expected centres have no exploitable return for 2021: "
    )
    assert "ORIV (its return has no activity loaded)" in check.description
    assert "VILLECARAIBE (its return was rejected)" in check.description
    assert "MAYOTTE (nothing sent)" in check.description


INSERT_HELD = (
    "insert into submission (submission_id, year, file_name, file_sha256, received_at, loaded_at,"
    " status, rows_read, rows_loaded, rows_rejected, n_errors, n_warnings, run_id)"
    " values (99, 2021, 'x', 'x', '2022-01-01', '2022-01-01', 'held', 0, 0, 0, 0, 0, 'r')"
)


def test_a_release_1_warehouse_accepts_held_returns(warehouse_url):
    """Its submission table was created when status could not be held: revision 0002 widens it."""
    load_warehouse_v1(warehouse_url)
    engine = create_warehouse_engine(warehouse_url)
    try:
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.exec_driver_sql(INSERT_HELD)
        ensure_schema(engine)
        load(engine, make_result(activities=FIFTEEN))
        assert load(engine, blank(), run_id="run-2").action == "held"
        assert [s["status"] for s in rows(engine, "submission")][-2:] == ["loaded", "held"]
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.exec_driver_sql(INSERT_HELD.replace("'held'", "'pending'"))  # still checked
    finally:
        engine.dispose()
