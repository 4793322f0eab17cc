import datetime as dt

import pandas as pd
import pytest

from crpv_pipeline.model import ACTIVITY_COLUMNS
from crpv_pipeline.warehouse.resubmission import (
    ActivityDiff,
    compare_activities,
    submission_activities,
)
from crpv_pipeline_tests.factories import DEFAULT_ACTIVITIES, activity, make_result
from crpv_pipeline_tests.tables import load, rows


def frame(*activities):
    records = [activity(source_row=i, **a) for i, a in enumerate(activities, 6)]
    return pd.DataFrame(records, columns=list(ACTIVITY_COLUMNS))


FORMATION = {"activity_date": dt.date(2021, 3, 4), "title": "Formation laïcité", "half_days": 2}
WEBINAIRE = {"activity_date": dt.date(2021, 5, 11), "title": "Webinaire", "half_days": 1}
RESEAU = {"activity_date": dt.date(2021, 6, 1), "title": "Réseau", "half_days": 3}


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        ([FORMATION, WEBINAIRE], (0, 0, 0, 3, 3)),
        ([FORMATION, WEBINAIRE, RESEAU], (1, 0, 0, 3, 6)),
        ([FORMATION], (0, 1, 0, 3, 2)),
        ([{**FORMATION, "half_days": 4}, WEBINAIRE], (0, 0, 1, 3, 5)),
        ([{**FORMATION, "modality_code": "DISTANCIEL"}, WEBINAIRE], (0, 0, 1, 3, 3)),
        ([{**FORMATION, "public_codes": ("ELUS",)}, WEBINAIRE], (0, 0, 1, 3, 3)),
        # the same activity, its title written differently: changed, not removed and added
        ([{**FORMATION, "title": "FORMATION  LAICITE"}, WEBINAIRE], (0, 0, 1, 3, 3)),
        # a new date is another activity
        ([{**FORMATION, "activity_date": dt.date(2021, 3, 5)}, WEBINAIRE], (1, 1, 0, 3, 3)),
        ([WEBINAIRE, FORMATION], (0, 0, 0, 3, 3)),  # order of rows does not matter
        ([], (0, 2, 0, 3, 0)),
    ],
)
def test_activities_added_removed_changed(after, expected):
    diff = compare_activities(frame(FORMATION, WEBINAIRE), frame(*after), replaces=7)
    assert diff == ActivityDiff(7, *expected)


def test_repeated_activities_pair_identical_rows_first():
    before = frame(FORMATION, {**FORMATION, "half_days": 5})
    after = frame({**FORMATION, "half_days": 5}, FORMATION, FORMATION)
    assert compare_activities(before, after, 1) == ActivityDiff(1, 1, 0, 0, 7, 9)


def test_publics_compare_as_sets():
    before = frame({**FORMATION, "public_codes": ("ELUS", "ETAT")})
    after = frame({**FORMATION, "public_codes": ["ETAT", "ELUS", "ELUS"]})
    assert compare_activities(before, after, 1).changed == 0


def test_loaded_activities_read_back_as_they_were_validated(engine):
    result = make_result()
    outcome = load(engine, result)
    with engine.connect() as conn:
        back = submission_activities(conn, [outcome.submission_id])
    assert list(back.columns) == list(ACTIVITY_COLUMNS)
    assert back["title"].tolist() == [a["title"] for a in DEFAULT_ACTIVITIES]
    assert back["public_codes"].tolist() == [("CHEFS_PROJET", "ELUS"), (), ("ASSOCIATIONS",)]
    assert compare_activities(result.activities, back, 1) == ActivityDiff(1, 0, 0, 0, 7, 7)


def test_a_resubmission_records_how_it_differs_in_the_submission_table(engine):
    load(engine, make_result())
    new = [
        {**DEFAULT_ACTIVITIES[0], "half_days": 6},  # changed: 4 → 6 half-days
        DEFAULT_ACTIVITIES[1],  # unchanged
        activity(title="Nouvelle action", half_days=2),  # added; the network meeting is removed
    ]
    outcome = load(engine, make_result(activities=new), run_id="run-2")
    assert outcome.diff == ActivityDiff(1, 1, 1, 1, 7, 9)
    first, second = rows(engine, "submission")
    assert {k: first[k] for k in ("status", "replaces_submission_id", "half_days_after")} == {
        "status": "superseded",
        "replaces_submission_id": None,
        "half_days_after": 7,
    }
    assert {
        k: v for k, v in second.items() if k.startswith(("replaces", "activities", "half"))
    } == {
        "replaces_submission_id": 1,
        "activities_added": 1,
        "activities_removed": 1,
        "activities_changed": 1,
        "half_days_before": 7,
        "half_days_after": 9,
    }


def test_a_rejected_resubmission_records_no_difference(engine):
    load(engine, make_result())
    load(engine, make_result(rejected=True, rows_read=0), run_id="run-2")
    rejected = rows(engine, "submission")[-1]
    assert rejected["status"] == "rejected"
    assert rejected["replaces_submission_id"] is None
    assert rejected["half_days_after"] is None
