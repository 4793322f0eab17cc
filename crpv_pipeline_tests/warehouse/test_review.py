"""Stewards' decisions: kept with who, when, why and which file; what each one changes.

One centre at a time, on both backends: a held return confirmed, a stray return excluded, a
warning accepted then the return approved, and a resubmission that reopens the approval.
"""

import datetime as dt

import pytest

from crpv_pipeline.warehouse.awaiting import pending
from crpv_pipeline.warehouse.decisions import finding_key
from crpv_pipeline.warehouse.derive import derive_year
from crpv_pipeline.warehouse.review import DecisionRefused, take_decision
from crpv_pipeline.warehouse.tables import count_rows
from crpv_pipeline_tests.factories import activity, finding, make_result
from crpv_pipeline_tests.tables import load, rows

FIFTEEN = [
    activity(activity_date=dt.date(2021, 1, 4) + dt.timedelta(days=7 * i), title=f"Action {i}")
    for i in range(15)
]
AT = dt.datetime(2022, 4, 2, 10, 0)
OTHER = "PROFBANLIEUE"


def line(engine, centre="IREV"):
    return next(r for r in rows(engine, "completeness", 2021) if r["centre_code"] == centre)


def decide(engine, decision, sha, **kwargs):
    kwargs.setdefault("reason", "vu avec le centre")
    kwargs.setdefault("decided_by", "claire")
    return take_decision(engine, 2021, decision, sha, decided_at=AT, **kwargs)


def weekend(file_name="IREV_2021.xlsx", row=8):
    return finding(
        "weekend_date",
        "warning",
        file_name=file_name,
        row_number=row,
        cell=f"A{row}",
        value="06/03/2021",
        message="La date 06/03/2021 tombe un samedi : vérifiez qu'il ne s'agit pas d'une erreur.",
    )


def test_a_confirmed_held_return_is_put_in_force_and_stays_so(engine):
    load(engine, make_result(activities=FIFTEEN))
    blank = make_result(file_name="IREV_2021_vide.xlsx", activities=[], rows_read=0)
    assert load(engine, blank, run_id="run-2").action == "held"
    derive_year(engine, 2021)
    assert [(p.kind, p.choices, p.approval) for p in pending(engine, 2021)] == [
        ("held", ("confirm", "exclude"), None),
        ("approval", ("approve",), "received"),  # the held return is open
    ]

    taken = decide(engine, "confirm", blank.file_sha256[:10], reason="le centre a cessé en 2021")
    assert "put in force" in taken.effect
    statuses = [s["status"] for s in rows(engine, "submission")]
    assert statuses == ["superseded", "loaded"]
    assert count_rows(engine, "fact_activity", 2021) == 0
    confirmed = rows(engine, "submission")[1]
    assert (confirmed["replaces_submission_id"], confirmed["activities_removed"]) == (1, 15)
    state = line(engine)
    assert (state["status"], state["submission_id"], state["held_submission_id"]) == (
        "empty",
        2,
        None,
    )
    (decision,) = rows(engine, "steward_decision")
    assert decision == {
        "decision_id": 1,
        "year": 2021,
        "centre_code": "IREV",
        "file_sha256": blank.file_sha256,
        "submission_id": 2,
        "decision": "confirm",
        "subject": "return",
        "reason": "le centre a cessé en 2021",
        "decided_by": "claire",
        "decided_at": AT,
        "superseded_by": None,
    }

    # The same bytes read again (a run reading every file): in force, unchanged, never held.
    again = make_result(file_name="IREV_2021_vide.xlsx", activities=[], rows_read=0)
    outcome = load(engine, again, run_id="run-3")
    assert (outcome.action, outcome.submission_id, outcome.status) == ("unchanged", 2, "loaded")
    assert pending(engine, 2021) == []


def test_an_excluded_return_leaves_the_year_and_the_previous_one_is_back_at_once(engine):
    first = make_result(activities=FIFTEEN)
    load(engine, first)
    before = rows(engine, "fact_activity")
    stray = make_result(file_name="IREV_2021_brouillon.xlsx", activities=FIFTEEN[:2])
    load(engine, stray, run_id="run-2")
    derive_year(engine, 2021)
    assert count_rows(engine, "archive_activity") == 15  # kept when it was superseded

    taken = decide(engine, "exclude", stray.file_sha256, reason="brouillon envoyé par erreur")
    assert "« IREV_2021.xlsx » is back in force (15 activities)" in taken.effect
    assert [s["status"] for s in rows(engine, "submission")] == ["loaded", "excluded"]
    back = rows(engine, "fact_activity", 2021)
    ignored = {"activity_id"}  # new identifiers; every other column as loaded from its file
    assert [{k: v for k, v in r.items() if k not in ignored} for r in back] == [
        {k: v for k, v in r.items() if k not in ignored} for r in before
    ]
    assert {r["submission_id"] for r in back} == {1}
    assert (
        count_rows(engine, "archive_activity"),
        count_rows(engine, "archive_activity_public"),
    ) == (
        0,
        0,
    )
    assert (line(engine)["status"], line(engine)["rows_loaded"]) == ("loaded", 15)

    # Its file read again by a later run: the same bytes in force, nothing to load.
    again = load(engine, make_result(activities=FIFTEEN), run_id="run-3")
    assert (again.action, again.submission_id) == ("unchanged", 1)


def titled_publics(engine):
    titles = {r["activity_id"]: r["title"] for r in rows(engine, "fact_activity", 2021)}
    return sorted(
        (titles[p["activity_id"]], p["public_code"]) for p in rows(engine, "fact_activity_public")
    )


def test_excluding_returns_one_after_another_goes_back_through_the_centre_s_returns(engine):
    """Three returns with publics, another centre loaded between; the last two excluded in turn."""
    with_publics = [
        activity(
            activity_date=dt.date(2021, 3, 1) + dt.timedelta(days=i),
            title=f"Atelier {i}",
            public_codes=("ELUS", "ETAT") if i % 2 else ("CHEFS_PROJET",),
        )
        for i in range(6)
    ]
    second = make_result(file_name="IREV_2021_v2.xlsx", activities=with_publics[:4])
    third = make_result(file_name="IREV_2021_v3.xlsx", activities=FIFTEEN[:3])
    load(engine, make_result(activities=with_publics))
    first_publics = titled_publics(engine)
    load(engine, second, run_id="run-2")
    second_publics = titled_publics(engine)
    load(engine, make_result(centre_code=OTHER, activities=FIFTEEN), run_id="run-2")
    load(engine, third, run_id="run-3")
    derive_year(engine, 2021)

    decide(engine, "exclude", third.file_sha256, reason="envoyé par erreur")
    assert titled_publics(engine) == second_publics  # the other centre's have no public
    decide(engine, "exclude", second.file_sha256, reason="envoyé par erreur aussi")
    irev = [r for r in rows(engine, "fact_activity", 2021) if r["centre_code"] == "IREV"]
    assert [r["title"] for r in irev] == [f"Atelier {i}" for i in range(6)]
    assert titled_publics(engine) == first_publics
    ids = [r["activity_id"] for r in rows(engine, "fact_activity", 2021)]
    assert len(ids) == len(set(ids)) == 6 + 15
    statuses = [(s["centre_code"], s["status"]) for s in rows(engine, "submission")]
    assert statuses == [
        ("IREV", "loaded"),
        ("IREV", "excluded"),
        (OTHER, "loaded"),
        ("IREV", "excluded"),
    ]


def test_a_return_superseded_before_the_archive_comes_back_when_its_file_is_read(engine):
    """Warehouses upgraded to revision 0005 have nothing archived for older supersessions."""
    first = make_result(activities=FIFTEEN)
    load(engine, first)
    stray = make_result(file_name="IREV_2021_brouillon.xlsx", activities=FIFTEEN[:2])
    load(engine, stray, run_id="run-2")
    with engine.begin() as conn:  # as a warehouse superseded by release 1 left it
        conn.exec_driver_sql("DELETE FROM archive_activity_public")
        conn.exec_driver_sql("DELETE FROM archive_activity")
    derive_year(engine, 2021)

    taken = decide(engine, "exclude", stray.file_sha256, reason="brouillon envoyé par erreur")
    assert "comes back in force when a run reads its file again" in taken.effect
    assert [s["status"] for s in rows(engine, "submission")] == ["superseded", "excluded"]
    assert count_rows(engine, "fact_activity", 2021) == 0
    assert line(engine)["status"] == "missing"

    # The previous file read again: in force again, as a new submission of the same bytes.
    back = load(engine, make_result(activities=FIFTEEN), run_id="run-3")
    assert (back.action, back.submission_id, back.superseded_ids) == ("loaded", 3, ())
    derive_year(engine, 2021)
    assert (line(engine)["status"], line(engine)["rows_loaded"]) == ("loaded", 15)
    assert rows(engine, "submission")[2]["file_sha256"] == first.file_sha256


def test_an_accepted_warning_lets_the_return_be_approved_until_a_new_file(engine):
    result = make_result(findings=[weekend()])
    load(engine, result)
    derive_year(engine, 2021)
    state = line(engine)
    assert (state["approval"], state["open_findings"]) == ("received", 1)
    key = finding_key("weekend_date", "Activités", "A8", 8)
    assert key == "weekend_date@Activités!A8"
    kinds = [(p.kind, p.subject) for p in pending(engine, 2021)]
    assert kinds == [("finding", key), ("approval", "approval")]

    with pytest.raises(DecisionRefused, match=r"IREV 2021: 1 finding\(s\) still open"):
        decide(engine, "approve", result.file_sha256, reason="ok")
    assert rows(engine, "steward_decision") == []  # refused: nothing written

    decide(engine, "accept", result.file_sha256, finding=key, reason="atelier du samedi")
    assert (line(engine)["approval"], line(engine)["open_findings"]) == ("reviewed", 0)
    decide(engine, "approve", result.file_sha256, reason="bilan complet")
    assert line(engine)["approval"] == "approved"
    assert pending(engine, 2021) == []

    # Deciding again supersedes: never deleted.
    decide(engine, "accept", result.file_sha256, finding=key, reason="atelier du samedi 6 mars")
    decisions = rows(engine, "steward_decision")
    assert [(d["decision_id"], d["superseded_by"]) for d in decisions] == [
        (1, 3),
        (2, None),
        (3, None),
    ]

    # A resubmission (new bytes) reopens the approval; its own warning is open again.
    new = make_result(file_name="IREV_2021_v2.xlsx", findings=[weekend("IREV_2021_v2.xlsx")])
    load(engine, new, run_id="run-2")
    derive_year(engine, 2021)
    assert (line(engine)["approval"], line(engine)["open_findings"]) == ("received", 1)


def test_reopening_an_accepted_warning_of_an_approved_return_reopens_its_approval(engine):
    result = make_result(findings=[weekend()])
    load(engine, result)
    derive_year(engine, 2021)
    key = finding_key("weekend_date", "Activités", "A8", 8)
    decide(engine, "accept", result.file_sha256, finding=key, reason="atelier du samedi")
    decide(engine, "approve", result.file_sha256, reason="bilan complet")
    assert line(engine)["approval"] == "approved"

    taken = decide(engine, "reopen", result.file_sha256, subject=key, reason="date à revoir")
    assert taken.effect.endswith("; its approval is reopened too")
    assert (line(engine)["approval"], line(engine)["open_findings"]) == ("received", 1)
    reopened = [
        (d["decision"], d["subject"], d["reason"]) for d in rows(engine, "steward_decision")
    ]
    assert reopened[-2:] == [
        ("reopen", key, "date à revoir"),
        ("reopen", "approval", f"Avertissement {key} rouvert : date à revoir"),
    ]
    assert [p.kind for p in pending(engine, 2021)] == ["finding", "approval"]


def test_a_reopened_approval_and_refused_decisions(engine):
    result = make_result()
    load(engine, result)
    derive_year(engine, 2021)
    assert line(engine)["approval"] == "reviewed"
    decide(engine, "approve", result.file_sha256)
    decide(engine, "reopen", result.file_sha256, subject="approval", reason="chiffres à revoir")
    assert line(engine)["approval"] == "reviewed"
    with pytest.raises(DecisionRefused, match="no SHA-256"):
        decide(engine, "approve", "abc")
    with pytest.raises(DecisionRefused, match="no file of 2021 has the SHA-256 0123456789"):
        decide(engine, "approve", "0123456789")
    with pytest.raises(DecisionRefused, match="has no warning 'weekend_date'"):
        decide(engine, "accept", result.file_sha256, finding="weekend_date")
    with pytest.raises(DecisionRefused, match="needs a reason"):
        decide(engine, "approve", result.file_sha256, reason=" ")
    assert len(rows(engine, "steward_decision")) == 2
