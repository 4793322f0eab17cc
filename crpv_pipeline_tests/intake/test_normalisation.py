import datetime as dt

import pandas as pd

from crpv_pipeline.intake.cell_problems import CellProblem
from crpv_pipeline.intake.normalisation import by_value, normalise
from crpv_pipeline.reference.refdata import default_nomenclature


def test_by_value_calls_the_function_once_per_distinct_value():
    calls = []

    def parse(value):
        calls.append(value)
        return str(value).upper()

    assert by_value(["a", "b", "a", None, "a"], parse) == ["A", "B", "A", "NONE", "A"]
    assert calls == ["a", "b", None]


def test_by_value_keeps_booleans_apart_from_numbers():
    # True == 1 in Python: a column mixing them must not share results.
    assert by_value([1, True, 1.0, False, 0], lambda v: type(v).__name__) == [
        "int",
        "bool",
        "float",
        "bool",
        "int",
    ]


def test_by_value_accepts_unhashable_values():
    assert by_value([[1], [1]], len) == [1, 1]


def test_normalise_gives_typed_values_and_notes_cell_problems():
    frame = pd.DataFrame(
        {
            "activity_date": [dt.datetime(2021, 3, 4), "12/04/2021", "31/02/2021"],
            "title": ["  Atelier laïcité ", "ATELIER LAICITE", None],
            "activity_type": ["Formations", "GT", "Visite"],
            "half_days": [2.0, "2,0", "2,5"],
            "modality": ["visio", "Présentiel", None],
            "theme": ["Education", CellProblem("error", "#N/A"), "Éducation"],
            "publics": ["Élus ; chefs de projet", "élus, inconnus", None],
            "participants": [None, 12.0, "une trentaine"],
            "department": [1.0, "2A", "20"],
            "partners": [None, "CAF", "=1+1"],
            "comment": [None, None, None],
        },
        index=pd.Index([2, 3, 4], name="source_row"),
        dtype=object,
    )
    rows = normalise(frame, default_nomenclature())
    values = rows.values
    assert values["date"].tolist() == [dt.date(2021, 3, 4), dt.date(2021, 4, 12), None]
    assert values["title_text"].tolist() == ["Atelier laïcité", "ATELIER LAICITE", None]
    assert values["title_key"].tolist() == ["atelier laicite", "atelier laicite", None]
    assert values["activity_type_code"].tolist() == ["FORMATION", "GROUPE_TRAVAIL", None]
    assert values["half_days"].tolist() == [2, 2, None]
    assert values["modality_code"].tolist() == ["DISTANCIEL", "PRESENTIEL", None]
    assert values["theme_code"].tolist() == ["EDUCATION", None, "EDUCATION"]
    assert values["public_codes"].tolist() == [("ELUS", "CHEFS_PROJET"), ("ELUS",), ()]
    assert values["publics_unknown"].tolist() == [(), ("inconnus",), ()]
    assert values["participants"].tolist() == [None, 12, None]
    assert values["department"].tolist() == ["01", "2A", None]
    assert values["partners_text"].tolist() == [None, "CAF", "=1+1"]
    assert set(rows.problems) == {"theme"}
    assert rows.problems["theme"].tolist() == [False, True, False]
