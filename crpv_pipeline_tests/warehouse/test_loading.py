import datetime as dt

import pytest
import sqlalchemy as sa

from crpv_pipeline.warehouse.derive import derive_year
from crpv_pipeline.warehouse.engine import WarehouseError
from crpv_pipeline_tests.factories import activity, finding, make_result
from crpv_pipeline_tests.tables import LOADED, RECEIVED, dump, load, rows


def test_aware_timestamps_are_stored_in_utc(engine):
    paris = dt.timezone(dt.timedelta(hours=1))
    load(engine, make_result(), received_at=dt.datetime(2022, 1, 15, 10, 30, tzinfo=paris))
    assert rows(engine, "submission")[0]["received_at"] == RECEIVED


def test_a_return_is_loaded_with_its_activities_publics_and_findings(engine):
    warning = finding("weekend_date", "warning", row_number=7, cell="A7", value="06/03/2021")
    error = finding()
    outcome = load(engine, make_result(findings=[error, warning]))
    assert (outcome.submission_id, outcome.action, outcome.status) == (
        1,
        "loaded",
        "loaded_with_errors",
    )
    assert (outcome.rows_loaded, outcome.n_errors, outcome.n_warnings) == (3, 1, 1)

    (submission,) = rows(engine, "submission")
    assert submission == {
        "submission_id": 1,
        "year": 2021,
        "centre_code": "IREV",
        "file_name": "IREV_2021.xlsx",
        "file_sha256": make_result(findings=[error, warning]).file_sha256,
        "template_version": "1",
        "received_at": RECEIVED,
        "loaded_at": LOADED,
        "status": "loaded_with_errors",
        "rows_read": 4,
        "rows_loaded": 3,
        "rows_rejected": 1,
        "n_errors": 1,
        "n_warnings": 1,
        "run_id": "run-1",
        "replaces_submission_id": None,  # a first return: nothing to compare with
        "activities_added": None,
        "activities_removed": None,
        "activities_changed": None,
        "half_days_before": None,
        "half_days_after": 4 + 1 + 2,
    }
    facts = rows(engine, "fact_activity")
    assert [f["activity_id"] for f in facts] == [1, 2, 3]
    assert facts[1] == {
        "activity_id": 2,
        "submission_id": 1,
        "year": 2021,
        "centre_code": "IREV",
        "source_row": 7,
        "source_sheet": "Activités",
        "activity_date": dt.date(2021, 5, 11),
        "title": "Webinaire laïcité",
        "activity_type_code": "MANIFESTATION",
        "modality_code": "DISTANCIEL",
        "theme_code": "VRL",
        "half_days": 1,
        "participants": None,
        "department": "59",
        "partners": None,
        "comment": None,
    }
    assert [(p["activity_id"], p["public_code"]) for p in rows(engine, "fact_activity_public")] == [
        (1, "CHEFS_PROJET"),
        (1, "ELUS"),
        (3, "ASSOCIATIONS"),
    ]
    failures = rows(engine, "validation_failure")
    assert [(f["failure_id"], f["rule"], f["severity"], f["cell"]) for f in failures] == [
        (1, "date_invalid", "error", "A9"),
        (2, "weekend_date", "warning", "A7"),
    ]
    assert failures[0]["message"] == error.message
    assert failures[0]["sheet"] == "Activités"
    assert failures[0]["row_number"] == 9


def test_the_same_file_again_changes_nothing(engine):
    result = make_result(findings=[finding()])
    first = load(engine, result)
    before = dump(engine)
    again = load(engine, result, run_id="run-2")
    assert again.action == "unchanged"
    assert again.submission_id == first.submission_id
    assert again.status == "loaded_with_errors"
    assert dump(engine) == before


def test_a_resubmission_supersedes_the_previous_one(engine):
    load(engine, make_result())
    other_centre = load(engine, make_result(centre_code="ORIV"))
    new = make_result(activities=[activity(title="Nouvelle action", public_codes=("ELUS",))])
    outcome = load(engine, new, run_id="run-2")
    assert (outcome.submission_id, outcome.action, outcome.superseded_ids) == (3, "loaded", (1,))

    statuses = {s["submission_id"]: s["status"] for s in rows(engine, "submission")}
    assert statuses == {1: "superseded", 2: "loaded", 3: "loaded"}
    facts = rows(engine, "fact_activity")
    irev = [f for f in facts if f["centre_code"] == "IREV"]
    assert [(f["submission_id"], f["title"]) for f in irev] == [(3, "Nouvelle action")]
    assert irev[0]["activity_id"] == 7  # ids keep growing, never reused
    assert sum(f["submission_id"] == other_centre.submission_id for f in facts) == 3
    publics = rows(engine, "fact_activity_public")
    assert {p["activity_id"] for p in publics} == {4, 6, 7}  # ORIV's 4 and 6, IREV's new 7


def test_a_rejected_resubmission_leaves_the_loaded_return_in_place(engine):
    loaded = load(engine, make_result())
    before = dump(engine, ("fact_activity", "fact_activity_public"))
    bad = make_result(
        rejected=True,
        rows_read=0,
        findings=[finding("missing_column", row_number=None, cell=None, value="Date")],
    )
    outcome = load(engine, bad)
    assert (outcome.action, outcome.status, outcome.superseded_ids) == ("rejected", "rejected", ())
    assert dump(engine, ("fact_activity", "fact_activity_public")) == before
    statuses = [(s["submission_id"], s["status"]) for s in rows(engine, "submission")]
    assert statuses == [(loaded.submission_id, "loaded"), (outcome.submission_id, "rejected")]
    assert rows(engine, "validation_failure")[0]["submission_id"] == outcome.submission_id

    derive_year(engine, 2021)
    irev = next(c for c in rows(engine, "completeness") if c["centre_code"] == "IREV")
    assert (irev["status"], irev["submission_id"], irev["rows_loaded"]) == ("loaded", 1, 3)


def test_the_current_return_sent_again_after_a_rejected_one_changes_nothing(engine):
    good = make_result()
    load(engine, good)
    load(engine, make_result(rejected=True, rows_read=0, findings=[finding("missing_column")]))
    before = dump(engine)
    again = load(engine, good, run_id="run-3")
    assert (again.action, again.submission_id, again.status) == ("unchanged", 1, "loaded")
    assert dump(engine) == before


def test_a_rejected_file_sent_twice_is_recorded_once(engine):
    bad = make_result(rejected=True, rows_read=0, findings=[finding("missing_column")])
    load(engine, bad)
    before = dump(engine)
    assert load(engine, bad, run_id="run-2").action == "unchanged"
    assert dump(engine) == before


def test_an_older_return_sent_again_after_a_newer_one_is_loaded_again(engine):
    old = make_result()
    load(engine, old)
    load(engine, make_result(activities=[activity(title="Nouvelle action")]))
    outcome = load(engine, old, run_id="run-3")
    assert (outcome.action, outcome.submission_id, outcome.superseded_ids) == ("loaded", 3, (2,))
    statuses = [s["status"] for s in rows(engine, "submission")]
    assert statuses == ["superseded", "superseded", "loaded"]


def test_a_file_of_an_unknown_centre_is_recorded_as_rejected(engine):
    result = make_result(
        centre_code=None,
        file_name="bilan.xlsx",
        rejected=True,
        rows_read=0,
        findings=[finding("unknown_centre", row_number=None, cell=None, value="CRPV Nord")],
    )
    outcome = load(engine, result)
    assert outcome.action == "rejected"
    (submission,) = rows(engine, "submission")
    assert (submission["centre_code"], submission["status"]) == (None, "rejected")
    assert rows(engine, "validation_failure")[0]["centre_code"] is None
    assert load(engine, result).action == "unchanged"  # same year, no centre, same file name


def test_a_failure_rolls_back_the_whole_load(engine):
    load(engine, make_result())
    before = dump(engine)
    broken = make_result(
        activities=[activity(), activity(theme_code="NOT_A_THEME")], findings=[finding()]
    )
    with pytest.raises(WarehouseError, match=r"loading IREV_2021\.xlsx \(IREV, 2021\)") as info:
        load(engine, broken, run_id="run-2")
    assert isinstance(info.value.__cause__, sa.exc.IntegrityError)
    assert dump(engine) == before  # no submission row, nothing superseded, facts untouched
