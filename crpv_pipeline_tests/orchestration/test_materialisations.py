"""What a real instance records: views, the next year's trend, late bilans, engines per step."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.definitions.reconstruct import ReconstructableRepository
from dagster._core.event_api import PartitionKeyFilter

from crpv_pipeline.orchestration.definitions import build_definitions
from crpv_pipeline.orchestration.resources import (
    ENGINE_DISPOSED,
    ENGINE_OPENED,
    DeadlinesResource,
    InboxResource,
)
from crpv_pipeline.orchestration.runs import materialize_year
from crpv_pipeline.orchestration.sensors import YEAR_TAG
from crpv_pipeline.reference.deadlines import Deadlines
from crpv_pipeline.warehouse.dictionary import BI_VIEWS
from crpv_pipeline_tests.workbooks import row, write_return


@pytest.fixture
def instance(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        yield instance


@pytest.fixture
def inbox(tmp_path):
    inbox = tmp_path / "inbox"
    write_return(inbox / "2020" / "IREV_2020.xlsx", [row(activity_date="12/03/2020")], year=2020)
    write_return(inbox / "2021" / "IREV_2021.xlsx", [row(), row(title="Atelier", half_days=3)])
    return inbox


def _materialisations(instance, key: str, run_id: str) -> dict[str | None, dg.EventLogEntry]:
    records = instance.fetch_materializations(dg.AssetKey.from_user_string(key), limit=100).records
    return {r.partition_key: r.event_log_entry for r in records if r.run_id == run_id}


def _bilan_on_time(instance, year: int):
    records = instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(dg.AssetKey("bilan_report"), "bilan_on_time"),
        limit=1,
        partition_filter=PartitionKeyFilter(key=str(year)),
    )
    return records[0].event.asset_check_evaluation if records else None


def test_rebuilding_a_year_records_the_next_years_trend_and_the_views(
    tmp_path, inbox, instance, sqlite_url
):
    def run(year):
        return materialize_year(year, inbox, sqlite_url, instance=instance, output=tmp_path / "o")

    first = run(2020)
    assert set(_materialisations(instance, "yearly_trend", first.run_id)) == {"2020"}
    run(2021)
    again = run(2020)  # 2021 compares with 2020: its trend row was rebuilt too
    trend = _materialisations(instance, "yearly_trend", again.run_id)
    assert set(trend) == {"2020", "2021"}
    rebuilt = trend["2021"].asset_materialization
    assert rebuilt.metadata["rebuilt_with"] == dg.MetadataValue.text("2020")
    assert rebuilt.metadata["dagster/row_count"] == dg.MetadataValue.int(1)
    for view in BI_VIEWS:  # (re)created by the schema step of each run
        assert set(_materialisations(instance, f"bi/{view}", again.run_id)) == {None}, view


def test_a_bilan_past_its_due_day_without_a_run_is_late_until_built(
    tmp_path, inbox, instance, sqlite_url
):
    sensor = build_definitions().resolve_sensor_def("bilan_deadline_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING

    def tick(cursor=None) -> dg.SensorResult:
        context = dg.build_sensor_context(
            instance=instance,
            cursor=cursor,
            resources={"inbox": InboxResource(path=str(inbox)), "deadlines": DeadlinesResource()},
        )
        result = sensor(context)
        for event in result.asset_events:  # as the daemon records them
            instance.report_runless_asset_event(event)
        return result

    materialize_year(2021, inbox, sqlite_url, instance=instance, output=tmp_path / "o")
    first = tick()
    late = {int(e.partition) for e in first.asset_events}
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    latest_due = max(y for y in range(2015, now.year) if Deadlines().bilan_due(y) <= now)
    assert 2020 in late and 2021 not in late  # 2020's inbox folder holds returns, 2021 is built
    assert late == {2020, latest_due}  # the latest year due counts without an inbox folder
    evaluation = _bilan_on_time(instance, 2020)
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert evaluation.description == (
        "2020: bilan late: not built, due by the end of 2021-04-30 (Paris), 30 days after the"
        " returns' deadline of 2021-03-31"
    )
    assert _bilan_on_time(instance, 2021).passed
    assert not tick(first.cursor).asset_events  # said once

    materialize_year(2020, inbox, sqlite_url, instance=instance, output=tmp_path / "o")
    built = _bilan_on_time(instance, 2020)
    assert built.passed
    assert built.description.startswith("2020: bilan built after its due day, due by the end")


def test_a_moved_deadline_moves_the_due_day(tmp_path, instance):
    (tmp_path / "inbox" / "2020").mkdir(parents=True)
    sensor = build_definitions().resolve_sensor_def("bilan_deadline_sensor")
    context = dg.build_sensor_context(
        instance=instance,
        resources={
            "inbox": InboxResource(path=str(tmp_path / "inbox")),
            "deadlines": DeadlinesResource(spec="03-31; 2020=2021-06-30"),
        },
    )
    (event,) = [e for e in sensor(context).asset_events if e.partition == "2020"]
    assert "due by the end of 2021-07-30 (Paris)" in event.description


def _engine_lines(instance, run_id: str) -> dict[str, list[tuple[str, str]]]:
    """Per step, the (opened|disposed, process) lines the warehouse resource logged."""
    lines = defaultdict(list)
    for entry in instance.all_logs(run_id):
        match = re.fullmatch(
            rf"({ENGINE_OPENED}|{ENGINE_DISPOSED}) \(process (\d+)\)", entry.user_message
        )
        if match:
            lines[entry.step_key].append((match.group(1), match.group(2)))
    return dict(lines)


def test_each_step_process_opens_one_engine_and_disposes_it(
    tmp_path, inbox, instance, sqlite_url, monkeypatch
):
    monkeypatch.setenv("CRPV_INBOX", str(inbox))
    monkeypatch.setenv("CRPV_WAREHOUSE_URL", sqlite_url)
    monkeypatch.setenv("CRPV_OUTPUT", str(tmp_path / "o"))
    monkeypatch.setenv("CRPV_WORKERS", "1")
    location = ReconstructableRepository.for_module(  # as launched runs load the code location
        "crpv_pipeline.orchestration.definitions", "defs", working_directory=str(Path.cwd())
    )
    with dg.execute_job(
        location.get_reconstructable_job("bilan_year"),
        instance=instance,
        tags={"dagster/partition": "2021", YEAR_TAG: "2021"},
    ) as result:
        assert result.success
    lines = _engine_lines(instance, result.run_id)
    processes = {  # the process each step ran in, as Dagster records it
        e.step_key: str(e.dagster_event.pid)
        for e in instance.all_logs(result.run_id, of_type=dg.DagsterEventType.STEP_START)
    }
    # Once the run is over, execute_job's result sets the resources up again in this process, to
    # load outputs on demand (a launched run does not): not a step's engine.
    assert [kind for kind, _ in lines.pop(None)] == [ENGINE_OPENED, ENGINE_DISPOSED]
    users = {"validate_and_load", "derived_tables", "steward_overview", "bilan_report"}
    users |= {"correction_workbooks", "completeness_returns_awaiting_approval"}  # decisions
    assert set(lines) == users  # inbox_files needs no warehouse
    for step, events in lines.items():
        pid = processes[step]
        assert events == [(ENGINE_OPENED, pid), (ENGINE_DISPOSED, pid)], step
    assert len({processes[step] for step in users}) == len(users)  # a process per step


def test_a_run_in_process_opens_one_engine_for_all_its_steps(tmp_path, inbox, instance, sqlite_url):
    result = materialize_year(2021, inbox, sqlite_url, instance=instance, output=tmp_path / "o")
    lines = _engine_lines(instance, result.run_id)
    assert list(lines) == [None]  # set up for the run, not for a step
    assert [kind for kind, _ in lines[None]] == [ENGINE_OPENED, ENGINE_DISPOSED]
