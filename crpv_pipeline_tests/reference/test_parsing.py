import datetime as dt

import pytest

from crpv_pipeline.reference.parsing import (
    format_value,
    french_number,
    parse_date,
    parse_department,
    parse_whole,
    split_publics,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.date(2021, 3, 4), dt.date(2021, 3, 4)),
        (dt.datetime(2021, 3, 4, 0, 0), dt.date(2021, 3, 4)),
        ("04/03/2021", dt.date(2021, 3, 4)),
        ("4/3/21", dt.date(2021, 3, 4)),
        ("2021-03-04", dt.date(2021, 3, 4)),
        (44259.0, dt.date(2021, 3, 4)),
        ("31/02/2021", None),
        ("demain", None),
        (2.5, None),
    ],
)
def test_parse_date(value, expected):
    assert parse_date(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (2, 2),
        (2.0, 2),
        ("2", 2),
        ("2,0", 2),
        (" 2 ", 2),
        ("1 200", 1200),
        ("2,5", None),
        ("deux", None),
        (True, None),
    ],
)
def test_parse_whole(value, expected):
    assert parse_whole(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, "01"),
        (1.0, "01"),
        ("1", "01"),
        ("93", "93"),
        ("2a", "2A"),
        (974.0, "974"),
        (20, None),
        (96, None),
        (977, None),
        ("Nord", None),
    ],
)
def test_parse_department(value, expected):
    assert parse_department(value) == expected


def test_split_publics():
    assert split_publics("Élus ; Chefs de projet, Habitants") == [
        "Élus",
        "Chefs de projet",
        "Habitants",
    ]
    assert split_publics(None) == []


def test_french_formatting():
    assert french_number(3123) == "3\u202f123"
    assert french_number(14.8, 1) == "14,8"
    assert format_value(2.5) == "2,5"
    assert format_value(2.0) == "2"
    assert format_value(dt.date(2021, 3, 4)) == "04/03/2021"
