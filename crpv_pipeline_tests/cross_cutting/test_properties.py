"""Property-based tests: whatever a cell holds, the outcome is a value or a finding, not a crash."""

import datetime as dt
import string

import openpyxl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crpv_pipeline.intake.validation import validate_return
from crpv_pipeline.reference.parsing import format_value, parse_date, parse_department, parse_whole
from crpv_pipeline.reference.refdata import default_nomenclature, normalize_label
from crpv_pipeline_tests.workbooks import HEADER

PRINTABLE = st.characters(exclude_categories=("Cc", "Cs"))  # what a spreadsheet cell can hold
CELLS = st.one_of(
    st.none(),
    st.text(alphabet=PRINTABLE, max_size=40),
    st.text(alphabet=string.digits + " ,./-", max_size=12),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2100, 12, 31)),
    st.booleans(),
    st.sampled_from(["#N/A", "2,5", " 2 ", "31/02/2021", "2A", "974.0", "Formations", "visio"]),
)


@given(st.text())
def test_normalize_label_is_idempotent_and_total(text):
    key = normalize_label(text)
    assert normalize_label(key) == key
    assert key == key.strip()
    assert "  " not in key


@given(st.sampled_from(["activity_types", "modalities", "themes", "publics"]), st.data())
def test_every_label_matches_itself_in_any_case_and_spacing(list_name, data):
    reference = getattr(default_nomenclature(), list_name)
    entry = data.draw(st.sampled_from(reference.entries))
    text = data.draw(
        st.sampled_from([entry.label.upper(), f"  {entry.label.lower()} ", entry.label])
    )
    assert reference.match(text) is entry


@given(CELLS)
def test_cell_parsers_return_a_value_or_none(value):
    date = parse_date(value)
    assert date is None or isinstance(date, dt.date)
    whole = parse_whole(value)
    assert whole is None or isinstance(whole, int)
    department = parse_department(value)
    assert department is None or department in {"2A", "2B"} or department.isdigit()
    assert format_value(value) is None or isinstance(format_value(value), str)


@given(st.lists(st.lists(CELLS, min_size=11, max_size=11), min_size=1, max_size=6))
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_reader_fed_random_cells_gives_values_or_findings(tmp_path, rows):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Activités"
    ws.append(HEADER)
    for cells in rows:
        ws.append([v if not (isinstance(v, str) and v.startswith("=")) else "'" + v for v in cells])
    path = tmp_path / "IREV_2021.xlsx"
    wb.save(path)
    result = validate_return(path, 2021)
    assert result.rows_loaded + result.rows_rejected == result.rows_read
    assert all(f.severity in {"error", "warning"} and f.message for f in result.findings)
    assert len(result.activities) == result.rows_loaded
