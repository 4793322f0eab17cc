"""Faults: a ``crpv run`` killed in the middle of loading a return, two processes writing at once.

Real subprocesses; the kill happens at a point the test controls (``testpoints``): the process
pauses inside the load's transaction, with the return's rows written and the centre's previous
submission superseded, and the test sends SIGKILL.
"""

import signal
import textwrap

import dagster as dg
import sqlalchemy as sa

from crpv_pipeline.orchestration.runs import materialize_year
from crpv_pipeline.testpoints import PAUSE_AT, PAUSE_MARKER
from crpv_pipeline.warehouse.engine import (
    WRITE_LOCK_KEY,
    WarehouseUnavailable,
    create_warehouse_engine,
    write_transaction,
)
from crpv_pipeline.warehouse.retries import RetryPolicy
from crpv_pipeline.warehouse.tables import read_table
from crpv_pipeline_tests.processes import snapshot, start_crpv_run, start_python, wait_for_file
from crpv_pipeline_tests.workbooks import VALID_ROW, row, write_return

FIRST = [VALID_ROW, row(title="GT GUP", activity_type="GT", half_days=1, theme="GUP")]
CORRECTED = [VALID_ROW, row(title="GT GUP", half_days=3), row(title="Nouvelle action")]


def run(tmp_path, url):
    return materialize_year(
        2021,
        tmp_path / "inbox",
        url,
        instance=dg.DagsterInstance.ephemeral(),
        output=tmp_path / "out",
    )


def a_writer_holds_the_warehouse(url: str) -> bool:
    """Whether another connection holds the warehouse write lock (an open write transaction)."""
    engine = create_warehouse_engine(url, sqlite_busy_timeout_ms=0, retry=RetryPolicy(tries=1))
    try:
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                free = conn.scalar(
                    sa.text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": WRITE_LOCK_KEY}
                )
                return not free
        try:
            with write_transaction(engine):
                return False
        except WarehouseUnavailable:
            return True
    finally:
        engine.dispose()


def test_a_run_killed_while_loading_a_return_leaves_the_warehouse_as_before(
    tmp_path, warehouse_url
):
    folder = tmp_path / "inbox" / "2021"
    write_return(folder / "IREV_2021.xlsx", FIRST)
    write_return(folder / "ORIV_2021.xlsx", [row(title="Colloque")], centre="ORIV")
    run(tmp_path, warehouse_url)
    before = snapshot(warehouse_url)

    write_return(folder / "IREV_2021.xlsx", CORRECTED)  # IREV sends a corrected return
    marker = tmp_path / "paused"
    process = start_crpv_run(
        2021,
        tmp_path / "inbox",
        warehouse_url,
        tmp_path / "out",
        **{PAUSE_AT: "load_return:uncommitted", PAUSE_MARKER: str(marker)},
    )
    try:
        wait_for_file(marker, process)
        assert a_writer_holds_the_warehouse(warehouse_url)  # the load's transaction is open
        assert snapshot(warehouse_url) == before  # and nobody sees its rows
        process.popen.send_signal(signal.SIGKILL)
        assert process.wait(30) == -signal.SIGKILL
    finally:
        process.kill()

    assert snapshot(warehouse_url) == before  # every table, every row, as before that load

    result = run(tmp_path, warehouse_url)  # the next run completes it
    assert result.success
    engine = create_warehouse_engine(warehouse_url)
    try:
        submissions = read_table(engine, "submission")
        facts = read_table(engine, "fact_activity")
        runs = read_table(engine, "load_run")
    finally:
        engine.dispose()
    irev = submissions[submissions["centre_code"] == "IREV"]
    assert irev["status"].tolist() == ["superseded", "loaded"]
    assert irev["activities_added"].tolist() == [None, 1]
    current = irev["submission_id"].iloc[-1]
    assert sorted(facts.loc[facts["centre_code"] == "IREV", "title"]) == sorted(
        r[1] for r in CORRECTED
    )
    assert set(facts.loc[facts["centre_code"] == "IREV", "submission_id"]) == {current}
    assert submissions.loc[submissions["centre_code"] == "ORIV", "status"].tolist() == ["loaded"]
    assert runs["run_id"].tolist() == sorted([before["load_run"][0]["run_id"], result.run_id])


def test_a_run_killed_while_writing_workbooks_leaves_none_half_written(tmp_path, sqlite_url):
    """Killed (SIGKILL) while a correction workbook is written, a run leaves every workbook as it
    was; the next run writes again those that are not whole (here cut short or emptied in place,
    as a run of an older version left them) and removes the temporary file of the killed one."""
    import openpyxl

    from crpv_pipeline.atomic import TEMP_SUFFIX

    folder = tmp_path / "inbox" / "2021"
    write_return(folder / "IREV_2021.xlsx", [VALID_ROW, row(half_days=99)])
    write_return(folder / "ORIV_2021.xlsx", [row(half_days="2,5")], centre="ORIV")
    run(tmp_path, sqlite_url)
    workbooks = tmp_path / "out" / "2021" / "corrections"
    irev, oriv = (workbooks / f"corrections_{c}_2021_{c}_2021.xlsx" for c in ("IREV", "ORIV"))
    irev.write_bytes(irev.read_bytes()[:1000])  # cut short
    oriv.write_bytes(b"")  # emptied
    write_return(folder / "ORIV_2021.xlsx", [row(half_days="2,5"), row(title="B")], centre="ORIV")
    before = {p.name: p.read_bytes() for p in workbooks.iterdir()}

    marker = tmp_path / "paused"
    process = start_crpv_run(
        2021,
        tmp_path / "inbox",
        sqlite_url,
        tmp_path / "out",
        **{PAUSE_AT: "write_correction_workbook:unrenamed", PAUSE_MARKER: str(marker)},
    )
    try:
        wait_for_file(marker, process)
        process.popen.send_signal(signal.SIGKILL)
        assert process.wait(30) == -signal.SIGKILL
    finally:
        process.kill()
    after = {p.name: p.read_bytes() for p in workbooks.iterdir() if p.suffix == ".xlsx"}
    assert after == before  # nothing replaced half-way
    assert [p.name.endswith(TEMP_SUFFIX) for p in workbooks.iterdir()].count(True) == 1

    assert run(tmp_path, sqlite_url).success
    assert sorted(p.name for p in workbooks.iterdir()) == [irev.name, oriv.name]
    for path, sheet, cells in ((irev, "Activités", ["B3", "D3"]), (oriv, "Activités", ["D2"])):
        book = openpyxl.load_workbook(path)  # whole, and complete
        table = [r[0].value for r in book["Corrections à apporter"].iter_rows(min_row=6)]
        assert table == [f"{sheet}!{c}" for c in cells], path.name
        assert book[sheet].max_row == 3  # the header and both rows copied
    written = [(p.name, p.stat().st_mtime_ns) for p in (irev, oriv)]
    assert run(tmp_path, sqlite_url).success  # nothing changed: whole workbooks are kept
    assert [(p.name, p.stat().st_mtime_ns) for p in (irev, oriv)] == written


WRITER = textwrap.dedent(
    """
    import sys
    from crpv_pipeline.warehouse.loading import load_return
    from crpv_pipeline.warehouse import (
        count_rows, create_warehouse_engine, derive_year, ensure_schema, read_table
    )
    from crpv_pipeline_tests.factories import activity, make_result
    from crpv_pipeline_tests.tables import LOADED, RECEIVED

    url, centre = sys.argv[1], sys.argv[2]
    engine = create_warehouse_engine(url)
    ensure_schema(engine)
    for year in range(2015, 2022):
        for version in (1, 2):
            rows = [activity(title=f"{centre} {year} v{version} #{i}") for i in range(version * 20)]
            result = make_result(year=year, centre_code=centre, activities=rows)
            load_return(engine, result, run_id=centre, received_at=RECEIVED, loaded_at=LOADED)
            assert count_rows(engine, "fact_activity", year) >= len(rows)  # reads in between
        derive_year(engine, year)
        assert len(read_table(engine, "completeness", year)) > 0
    print("done")
    """
)


def test_two_processes_writing_at_once_on_sqlite(tmp_path, sqlite_url):
    """Both start on a new database file (both create the schema and switch it to WAL) and
    interleave 22 write transactions each, with reads in between: the busy timeout and the
    retries absorb every "database is locked", and each process finds the other's rows in place.
    """
    writers = [
        start_python(["-c", WRITER, sqlite_url, centre], tmp_path, centre)
        for centre in ("IREV", "ORIV")
    ]
    for writer in writers:
        assert writer.wait() == 0, writer.err()
        assert writer.out().strip() == "done"
        assert "locked" not in writer.err()
    engine = create_warehouse_engine(sqlite_url)
    try:
        submissions = read_table(engine, "submission")
        facts = read_table(engine, "fact_activity")
        summary = read_table(engine, "yearly_summary")
    finally:
        engine.dispose()
    assert len(submissions) == 2 * 7 * 2
    assert submissions.groupby("centre_code")["status"].apply(sorted).to_dict() == {
        c: ["loaded"] * 7 + ["superseded"] * 7 for c in ("IREV", "ORIV")
    }
    assert len(facts) == 2 * 7 * 40  # the current (second) version of each centre and year
    assert facts["activity_id"].is_unique
    assert summary["year"].tolist() == list(range(2015, 2022))
    assert summary["n_activities"].tolist() == [80] * 7
