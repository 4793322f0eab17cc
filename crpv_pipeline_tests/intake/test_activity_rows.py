"""The schema of the activity rows holds no hidden state: validated on its own, outside
``row_findings``, it finds the same failures on the same rows."""

import datetime as dt
import threading

import pandera.pandas as pa
import pytest

from crpv_pipeline.intake.activity_rows import FIELDS, activity_rows_schema
from crpv_pipeline.intake.normalisation import normalise
from crpv_pipeline.intake.raw_return import read_return
from crpv_pipeline.intake.validation import row_findings, rows_frame
from crpv_pipeline.reference.refdata import default_nomenclature
from crpv_pipeline_tests.workbooks import VALID_ROW, row, write_return

NOM = default_nomenclature()
ROWS = [
    VALID_ROW,  # row 2
    row(half_days="2,5", title="Demi-journée et demie"),  # 3
    row(participants=650, title="Grand forum"),  # 4
    row(theme="Logement", title="Atelier logement"),  # 5
    VALID_ROW,  # 6: a duplicate of row 2
    row(activity_date=dt.date(2021, 3, 6), title="Samedi"),  # 7: a Saturday
    row(activity_date=dt.date(2020, 5, 4), title="L'an passé"),  # 8
    row(modality=None, title="Sans modalité"),  # 9
    row(publics="Élus ; Lutins", title="Publics"),  # 10
    row(department="20", title="Corse"),  # 11
    row(participants="#N/A", title="Erreur"),  # 12
    row(half_days="=1+1", title="Formule"),  # 13: a formula saved without its result
]
EXPECTED = {
    ("half_days_not_integer", 3),
    ("participants_high", 4),
    ("theme_unknown", 5),
    ("duplicate_activity", 6),
    ("weekend_date", 7),
    ("date_out_of_year", 8),
    ("required", 9),
    ("publics_unknown", 10),
    ("department_invalid", 11),
    ("cell_error", 12),
    ("formula_without_value", 13),
}


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    path = write_return(tmp_path_factory.mktemp("rows") / "2021" / "IREV.xlsx", ROWS)
    raw = read_return(path, NOM)
    return raw, rows_frame(raw, 2021)


def failures(frame):
    """(rule, row) of each failure of the schema validating ``frame`` on its own."""
    schema = activity_rows_schema(normalise(frame[list(FIELDS)], NOM))
    with pytest.raises(pa.errors.SchemaErrors) as err:
        schema.validate(frame, lazy=True)
    cases = err.value.failure_cases
    return {
        ("required" if case.check == "not_nullable" else case.check, int(case.index))
        for case in cases.itertuples()
    }


def test_row_findings_finds_every_rule_on_its_row(written):
    raw, frame = written
    assert {(f.rule, f.row_number) for f in row_findings(frame, raw, NOM)} == EXPECTED


def test_the_schema_on_its_own_finds_the_same_failures(written):
    raw, frame = written
    assert failures(frame) == EXPECTED
    # and again after row_findings has validated another frame: nothing carried over
    others = frame.drop(index=[3, 5, 12])
    row_findings(others, raw, NOM)
    assert failures(frame) == EXPECTED
    assert failures(others) == EXPECTED - {("half_days_not_integer", 3), ("theme_unknown", 5)} - {
        ("cell_error", 12)
    }


def test_the_schema_finds_the_same_failures_in_another_thread(written):
    _, frame = written
    seen = []
    thread = threading.Thread(target=lambda: seen.append(failures(frame)))
    thread.start()
    thread.join()
    assert seen == [EXPECTED]
