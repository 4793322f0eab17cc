import datetime as dt

import pytest

from crpv_pipeline.reference.deadlines import (
    DeadlineError,
    Deadlines,
    deadline_fr,
    late_bilans,
    paris_time,
    parse_deadlines,
)
from crpv_pipeline.warehouse.derive import derive_year
from crpv_pipeline.warehouse.reconciliation import completeness_of
from crpv_pipeline_tests.factories import make_result
from crpv_pipeline_tests.tables import load, rows


@pytest.mark.parametrize(
    ("setting", "year", "deadline"),
    [
        (None, 2021, dt.date(2022, 3, 31)),
        ("", 2020, dt.date(2021, 3, 31)),
        ("04-15", 2021, dt.date(2022, 4, 15)),
        ("03-31; 2020=2021-06-30", 2020, dt.date(2021, 6, 30)),
        ("03-31; 2020=2021-06-30", 2021, dt.date(2022, 3, 31)),
        ("2020=2021-06-30, 05-02", 2019, dt.date(2020, 5, 2)),
        ("02-29", 2022, dt.date(2023, 2, 28)),  # no 29 February in 2023
        ("02-29", 2023, dt.date(2024, 2, 29)),
    ],
)
def test_deadline_of_each_year(setting, year, deadline):
    assert parse_deadlines(setting).for_year(year) == deadline


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("31/03", "deadline '31/03': expected MM-DD"),
        ("02-30", "deadline '02-30': not a day of the year"),
        ("2020=2021-02-30", "deadline '2020=2021-02-30': not a date"),
    ],
)
def test_a_faulty_setting_says_which_part(setting, message):
    with pytest.raises(DeadlineError, match=message):
        parse_deadlines(setting)


@pytest.mark.parametrize(
    ("deadline", "first_late_utc"),
    [
        (dt.date(2022, 3, 31), dt.datetime(2022, 3, 31, 22, 0)),  # summer time in Paris, UTC+2
        (dt.date(2022, 1, 15), dt.datetime(2022, 1, 15, 23, 0)),  # winter time, UTC+1
        (dt.date(2021, 6, 30), dt.datetime(2021, 6, 30, 22, 0)),
    ],
)
def test_late_is_from_midnight_in_paris_after_the_deadline_day(deadline, first_late_utc):
    assert Deadlines.received_before(deadline) == first_late_utc


def test_the_deadline_reads_as_the_end_of_the_day_in_paris():
    assert deadline_fr(dt.date(2022, 3, 31)) == "31/03/2022, 23 h 59, heure de Paris"


@pytest.mark.parametrize(
    ("received_utc", "in_paris"),
    [
        (dt.datetime(2022, 3, 31, 22, 30), dt.datetime(2022, 4, 1, 0, 30)),  # late on 31/03
        (dt.datetime(2022, 1, 15, 16, 0), dt.datetime(2022, 1, 15, 17, 0)),  # winter, UTC+1
        (dt.datetime(2022, 1, 15, 16, 0, tzinfo=dt.UTC), dt.datetime(2022, 1, 15, 17, 0)),
        (None, None),
    ],
)
def test_reception_times_read_in_paris_time_like_the_deadline(received_utc, in_paris):
    assert paris_time(received_utc) == in_paris


def test_completeness_says_who_reported_on_time(engine):
    # received_at is UTC: 21:30 UTC is 23:30 in Paris on 31 March (on time), 22:30 UTC is
    # 00:30 on 1 April in Paris (late), though still 31 March in UTC.
    load(engine, make_result(centre_code="IREV"), received_at=dt.datetime(2022, 3, 31, 21, 30))
    load(engine, make_result(centre_code="ORIV"), received_at=dt.datetime(2022, 3, 31, 22, 30))
    derive_year(engine, 2021)
    by_centre = {r["centre_code"]: r for r in rows(engine, "completeness", 2021)}
    assert by_centre["IREV"]["received_on_time"] is True
    assert by_centre["ORIV"]["received_on_time"] is False
    assert by_centre["CRPVE"]["received_on_time"] is None  # missing
    assert {r["deadline"] for r in by_centre.values()} == {dt.date(2022, 3, 31)}

    derive_year(engine, 2021, parse_deadlines("03-31; 2021=2022-04-30"))
    by_centre = {r["centre_code"]: r for r in rows(engine, "completeness", 2021)}
    assert by_centre["ORIV"]["received_on_time"] is True
    assert by_centre["ORIV"]["deadline"] == dt.date(2022, 4, 30)


def test_the_completeness_check_lists_missing_and_late_centres(engine):
    load(engine, make_result(centre_code="IREV"), received_at=dt.datetime(2022, 5, 2))
    derive_year(engine, 2021)
    state = completeness_of(engine, 2021)
    assert state.expected == 17
    assert state.late == ("IREV",)
    assert len(state.missing) == 16 and "IREV" not in state.missing


def test_the_bilan_gives_the_deadline_in_paris_time(engine):
    from crpv_pipeline.outputs.report.build import build_bilan
    from crpv_pipeline.outputs.report.html import render_html

    load(engine, make_result(centre_code="IREV"), received_at=dt.datetime(2022, 3, 31, 22, 30))
    derive_year(engine, 2021)
    bilan = build_bilan(engine, 2021)
    html = render_html(bilan, "Bilan 2021")
    assert "Date limite de dépôt : 31/03/2022, 23 h 59, heure de Paris." in html
    assert bilan.late == ("Institut Régional de la Ville",)  # 00:30 on 1 April in Paris


def test_a_bilan_is_due_30_days_after_the_returns_deadline_day_in_paris():
    deadlines = parse_deadlines("03-31; 2020=2021-06-30")
    assert deadlines.bilan_due(2021) == dt.datetime(2022, 4, 30, 22, 0)  # 1 May, 00:00 in Paris
    assert deadlines.bilan_due(2020) == dt.datetime(2021, 7, 30, 22, 0)
    now = dt.datetime(2022, 5, 2)
    years = range(2015, 2023)
    # watched years past their due day and not built, and the latest year due in any case
    assert late_bilans(deadlines, years, {2019}, {2019, 2020}, now) == [2020, 2021]
    assert late_bilans(deadlines, years, {2021}, set(), now) == []
    assert late_bilans(deadlines, years, set(), set(), dt.datetime(2022, 4, 30, 21, 59)) == [2020]
