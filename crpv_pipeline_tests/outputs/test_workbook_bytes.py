"""The same content gives the same bytes: workbooks are dated by their data, never by the clock."""

import datetime as dt
import os

import openpyxl

from crpv_pipeline.intake.validation import validate_return
from crpv_pipeline.outputs.corrections import write_correction_workbook
from crpv_pipeline.outputs.steward_overview import write_steward_overview
from crpv_pipeline_tests.outputs.test_corrections import (
    CENTRE_NAMES,
    completeness_frame,
    findings_frame,
)
from crpv_pipeline_tests.outputs.test_overview_decisions import ITEMS
from crpv_pipeline_tests.workbooks import VALID_ROW, row, write_return

RECEIVED = dt.datetime(2021, 5, 3, 9, 15)  # UTC


def created(path):
    properties = openpyxl.load_workbook(path).properties
    return properties.created, properties.modified


def test_an_overview_written_twice_has_the_same_bytes_dated_by_its_data(tmp_path):
    def overview(folder, **given):
        return write_steward_overview(
            2021, completeness_frame(), findings_frame(), folder, CENTRE_NAMES, ITEMS, **given
        )

    first, second = overview(tmp_path / "a"), overview(tmp_path / "b")
    assert first.read_bytes() == second.read_bytes()
    latest = dt.datetime(2021, 5, 5, 8)  # the latest reception of the year
    assert created(first) == (latest, latest)
    as_of = dt.datetime(2021, 6, 1, 12, 30)  # e.g. a decision recorded after the returns
    dated = overview(tmp_path / "c", as_of=as_of)
    assert created(dated) == (as_of, as_of)
    assert created(overview(tmp_path / "d", as_of=as_of)) == (as_of, as_of)
    assert dated.read_bytes() == (tmp_path / "d" / dated.name).read_bytes()


def test_a_correction_workbook_written_twice_has_the_same_bytes_dated_by_its_return(tmp_path):
    rows = [
        VALID_ROW,
        row(title="Atelier", half_days="2,5"),
        row(title="Colloque", participants=650),
    ]
    path = write_return(tmp_path / "2021" / "IREV.xlsx", rows)
    os.utime(path, (RECEIVED.replace(tzinfo=dt.UTC).timestamp(),) * 2)
    result = validate_return(path, 2021)
    first = write_correction_workbook(result, tmp_path / "a.xlsx")
    second = write_correction_workbook(result, tmp_path / "b.xlsx")
    assert first.read_bytes() == second.read_bytes()
    assert created(first) == (RECEIVED, RECEIVED)  # when the return was received
