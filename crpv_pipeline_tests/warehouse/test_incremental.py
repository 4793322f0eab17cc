"""Incremental runs: files known by SHA-256 are not read again, and the warehouse ends up as a
run that reads everything would leave it. The stages are called as the Dagster assets call them.
"""

import pytest

from crpv_pipeline.intake import inbox as inbox_listing
from crpv_pipeline.warehouse.audit import finish_load_run, load_run_of, record_load_run
from crpv_pipeline.warehouse.derive import derive_year
from crpv_pipeline.warehouse.dictionary import SCHEMA_TABLES
from crpv_pipeline.warehouse.engine import create_warehouse_engine
from crpv_pipeline.warehouse.schema import ensure_schema
from crpv_pipeline.warehouse.tables import read_table
from crpv_pipeline.year import load as year_loading
from crpv_pipeline.year import validate as year_validation
from crpv_pipeline_tests.workbooks import row, write_return

IREV_ROWS = [row(), row(title="Rencontre", activity_type="Activité de réseau", half_days=3)]
ORIV_ROWS = [row(title="Colloque", activity_type="colloque", half_days=2), row(half_days="2,5")]


def run_year(engine, inbox, run_id, *, incremental=True, year=2021):
    """One run of a year, stage by stage; returns the validated returns."""
    ensure_schema(engine)
    files = inbox_listing.inbox_files(inbox, year)
    known = year_validation.known_files(engine, files, year) if incremental else {}
    results = year_validation.validate_year(files, year, known=known)
    outcomes = year_loading.load_year(engine, files, results, run_id)
    record_load_run(engine, load_run_of(run_id, year, None, results, outcomes))
    derive_year(engine, year)
    finish_load_run(engine, run_id, year)
    return results


@pytest.fixture
def inbox(tmp_path):
    folder = tmp_path / "inbox" / "2021"
    write_return(folder / "IREV_2021.xlsx", IREV_ROWS)
    write_return(folder / "ORIV_2021.xlsx", ORIV_ROWS, centre="ORIV")
    write_return(folder / "inconnu.xlsx", centre="Centre imaginaire")
    return tmp_path / "inbox"


@pytest.fixture
def reads(monkeypatch):
    """The names of the files that validation reads."""
    names = []
    validate = year_validation.validate_return

    def spy(path, year, *rest):
        names.append(path.name)
        return validate(path, year, *rest)

    monkeypatch.setattr(year_validation, "validate_return", spy)
    return names


def test_only_the_changed_return_is_read_again(engine, inbox, reads):
    run_year(engine, inbox, "run-1")
    assert sorted(reads) == ["IREV_2021.xlsx", "ORIV_2021.xlsx", "inconnu.xlsx"]
    reads.clear()
    write_return(inbox / "2021" / "ORIV_2021.xlsx", ORIV_ROWS[:1], centre="ORIV")
    results = run_year(engine, inbox, "run-2")
    assert reads == ["ORIV_2021.xlsx"]
    known = {r.file_name: r.recorded_as for r in results}
    assert known == {"IREV_2021.xlsx": 1, "ORIV_2021.xlsx": None, "inconnu.xlsx": 3}
    irev = next(r for r in results if r.centre_code == "IREV")
    assert (irev.status, irev.rows_loaded, irev.rows_read) == ("loaded", 2, 2)

    audit = {r["run_id"]: r for r in read_table(engine, "load_run").to_dict("records")}
    assert {k: audit["run-2"][k] for k in ("files_seen", "files_read")} == {
        "files_seen": 3,
        "files_read": 1,
    }
    assert [audit["run-2"][f"submissions_{a}"] for a in ("loaded", "rejected", "unchanged")] == [
        1,
        0,
        2,
    ]
    assert audit["run-2"]["finished_at"] >= audit["run-2"]["started_at"]
    reads.clear()
    run_year(engine, inbox, "run-3")
    assert reads == []  # nothing changed: nothing read


def _comparable(engine):
    """Every table, without what differs between two runs by nature (ids of runs, clocks)."""
    tables = {}
    for name in SCHEMA_TABLES:
        frame = read_table(engine, name)
        if name == "load_run":
            frame = frame.drop(columns=["started_at", "finished_at", "files_read"])
        tables[name] = frame.drop(columns=[c for c in ("loaded_at",) if c in frame])
    return tables


def test_an_incremental_history_equals_one_that_reads_everything(tmp_path, inbox, warehouse_url):
    full = create_warehouse_engine(f"sqlite:///{tmp_path / 'full.sqlite'}")
    incremental = create_warehouse_engine(warehouse_url)
    folder = inbox / "2021"

    def both(run_id):
        run_year(incremental, inbox, run_id)
        run_year(full, inbox, run_id, incremental=False)

    try:
        both("run-1")
        write_return(folder / "ORIV_2021.xlsx", ORIV_ROWS[:1], centre="ORIV")  # corrected
        both("run-2")
        write_return(folder / "IREV bis.xlsx", IREV_ROWS[:1])  # a second file for IREV
        both("run-3")
        (folder / "IREV bis.xlsx").unlink()  # removed again: IREV's first file stands
        both("run-4")
        write_return(folder / "ORIV_2021.xlsx", ORIV_ROWS, centre="ORIV")  # the older one again
        both("run-5")
        expected, actual = _comparable(full), _comparable(incremental)
        for name in SCHEMA_TABLES:
            assert actual[name].equals(expected[name]), name
        statuses = read_table(incremental, "submission")[["file_name", "status"]]
        assert statuses.values.tolist() == [
            ["IREV_2021.xlsx", "loaded"],
            ["ORIV_2021.xlsx", "superseded"],
            ["inconnu.xlsx", "rejected"],
            ["ORIV_2021.xlsx", "superseded"],
            ["IREV bis.xlsx", "rejected"],
            ["IREV_2021.xlsx", "rejected"],  # rejected as one of two files; its data stayed
            ["ORIV_2021.xlsx", "loaded_with_errors"],
        ]
    finally:
        full.dispose()
        incremental.dispose()


def test_the_result_equals_a_warehouse_built_from_the_final_inbox(tmp_path, inbox, engine):
    run_year(engine, inbox, "run-1")
    write_return(inbox / "2021" / "ORIV_2021.xlsx", ORIV_ROWS[:1], centre="ORIV")
    run_year(engine, inbox, "run-2")
    fresh = create_warehouse_engine(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    try:
        run_year(fresh, inbox, "rebuild")
        for name in ("activity_counts", "theme_shares", "modality_shares", "yearly_summary"):
            assert read_table(engine, name).equals(read_table(fresh, name)), name
        columns = ["centre_code", "title", "half_days", "theme_code"]
        facts = read_table(engine, "fact_activity")[columns].sort_values(columns)
        rebuilt = read_table(fresh, "fact_activity")[columns].sort_values(columns)
        assert facts.reset_index(drop=True).equals(rebuilt.reset_index(drop=True))
    finally:
        fresh.dispose()


def test_a_new_reference_data_version_reads_everything_again(engine, inbox, reads, monkeypatch):
    run_year(engine, inbox, "run-1")
    reads.clear()
    monkeypatch.setattr("crpv_pipeline.warehouse.incremental.__version__", "99.0")
    run_year(engine, inbox, "run-2")
    assert len(reads) == 3


def test_a_file_changed_after_it_was_read_is_left_for_the_next_run(engine, inbox):
    ensure_schema(engine)
    files = inbox_listing.inbox_files(inbox, 2021)
    results = year_validation.validate_year(files, 2021)
    write_return(inbox / "2021" / "ORIV_2021.xlsx", ORIV_ROWS[:1], centre="ORIV")
    outcomes = year_loading.load_year(engine, files, results, "run-1")
    assert [(r.file_name, o.action) for r, o in zip(results, outcomes, strict=True)] == [
        ("IREV_2021.xlsx", "loaded"),
        ("ORIV_2021.xlsx", "deferred"),
        ("inconnu.xlsx", "rejected"),
    ]
    assert "ORIV" not in set(read_table(engine, "submission")["centre_code"])


def test_a_known_return_counts_its_activities_without_reading_them_back(engine, inbox):
    run_year(engine, inbox, "run-1")
    files = inbox_listing.inbox_files(inbox, 2021)
    known = year_validation.known_files(engine, files, 2021)
    irev = next(r for r in known.values() if r.file_name == "IREV_2021.xlsx")
    assert (irev.rows_loaded, irev.rows_read, len(irev.activities)) == (2, 2, 0)
    oriv = next(r for r in known.values() if r.file_name == "ORIV_2021.xlsx")
    assert (oriv.status, oriv.rows_loaded, oriv.rows_rejected) == ("loaded_with_errors", 1, 1)


def test_a_known_return_replaced_meanwhile_is_not_loaded_empty(engine, inbox, tmp_path):
    from crpv_pipeline.intake.validation import validate_return
    from crpv_pipeline.warehouse.engine import WarehouseError
    from crpv_pipeline.warehouse.loading import load_return

    run_year(engine, inbox, "run-1")
    files = inbox_listing.inbox_files(inbox, 2021)
    known = year_validation.known_files(engine, files, 2021)
    irev = next(r for r in known.values() if r.file_name == "IREV_2021.xlsx")
    other = write_return(tmp_path / "elsewhere" / "IREV_2021.xlsx", IREV_ROWS[:1])
    when = {"received_at": files[0].received_at, "loaded_at": files[0].received_at}
    load_return(engine, validate_return(other, 2021), run_id="x", **when)
    before = read_table(engine, "fact_activity")
    with pytest.raises(WarehouseError, match="known as submission 1, which another load replaced"):
        load_return(engine, irev, run_id="y", **when)
    assert read_table(engine, "fact_activity").equals(before)


def test_returns_not_read_again_are_said_in_one_line(engine, inbox):
    """Ops read one line for the known returns (each line is a stored Dagster event), then a
    line for each return read and for each load."""
    run_year(engine, inbox, "run-1")
    write_return(inbox / "2021" / "ORIV_2021.xlsx", ORIV_ROWS[:1], centre="ORIV")
    files = inbox_listing.inbox_files(inbox, 2021)
    said = []
    year_loading.validate_and_load_year(
        engine, files, 2021, "run-2", said.append, year_validation.known_files(engine, files, 2021)
    )
    assert said == [
        "2 of 3 returns known by their content (SHA-256), not read again:"
        " IREV_2021.xlsx (submission 1), inconnu.xlsx (submission 3)",
        "[2/3] ORIV_2021.xlsx: loaded, 1/1 rows, 0 errors, 0 warnings",
        "ORIV_2021.xlsx: loaded (submission 4)",
    ]


@pytest.mark.parametrize(
    "rows", [[], [row(half_days="2,5"), row(activity_date="31/02/2021")]], ids=["blank", "invalid"]
)
def test_a_held_return_is_known_and_neither_held_nor_loaded_again(engine, inbox, reads, rows):
    run_year(engine, inbox, "run-1")
    write_return(inbox / "2021" / "IREV_2021.xlsx", rows)
    reads.clear()
    run_year(engine, inbox, "run-2")
    assert reads == ["IREV_2021.xlsx"]
    submissions = read_table(engine, "submission", 2021)
    assert submissions["status"].tolist() == ["loaded", "loaded_with_errors", "rejected", "held"]
    reads.clear()
    results = run_year(engine, inbox, "run-3")
    assert reads == []
    held = next(r for r in results if r.centre_code == "IREV")
    assert (held.recorded_as, held.status) == (4, "held")
    assert (
        read_table(engine, "submission", 2021)["status"].tolist() == submissions["status"].tolist()
    )
    audit = read_table(engine, "load_run").set_index("run_id")
    assert audit.loc["run-2", "submissions_held"] == 1
    assert audit.loc["run-3", ["submissions_held", "submissions_unchanged"]].tolist() == [0, 3]
    irev = read_table(engine, "completeness", 2021).set_index("centre_code").loc["IREV"]
    assert (irev["status"], irev["submission_id"], irev["rows_loaded"]) == ("loaded", 1, 2)
    assert irev["held_submission_id"] == 4
