"""The shipped production instance (deploy/dagster.yaml) against the real PostgreSQL server."""

import shutil

import dagster as dg
import pytest
import sqlalchemy as sa

from crpv_pipeline.runs import materialize_year
from crpv_pipeline.warehouse import create_warehouse_engine, read_table
from crpv_pipeline_tests.instance_home import DEPLOY, production_home
from crpv_pipeline_tests.workbooks import write_return


@pytest.fixture
def instance(tmp_path, new_pg_database, monkeypatch):
    storage = new_pg_database("crpv_dagster")
    for name, value in production_home(tmp_path / "dagster_home", storage).items():
        monkeypatch.setenv(name, value)
    instance = dg.DagsterInstance.get()
    yield instance
    instance.dispose()


@pytest.mark.postgres
def test_the_instance_keeps_everything_in_postgresql(instance):
    storages = (instance.run_storage, instance.event_log_storage, instance.schedule_storage)
    assert [type(s).__name__ for s in storages] == [
        "PostgresRunStorage",
        "PostgresEventLogStorage",
        "PostgresScheduleStorage",
    ]
    assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"


@pytest.mark.postgres
def test_runs_of_one_year_are_queued_one_at_a_time(instance):
    limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
    assert {
        "key": "dagster/partition",
        "value": {"applyLimitPerUniqueValue": True},
        "limit": 1,
    } in limits


@pytest.mark.postgres
def test_a_partition_runs_with_the_production_instance(tmp_path, instance, pg_url):
    inbox = tmp_path / "inbox"
    write_return(inbox / "2021" / "IREV_2021.xlsx")
    result = materialize_year(2021, inbox, pg_url, instance=instance, output=tmp_path / "out")

    (record,) = instance.get_run_records()
    assert record.dagster_run.run_id == result.run_id
    assert record.dagster_run.status == dg.DagsterRunStatus.SUCCESS
    assert record.dagster_run.tags["crpv/year"] == "2021"
    event = instance.get_latest_materialization_event(dg.AssetKey("yearly_summary"))
    assert event.run_id == result.run_id
    with sa.create_engine(instance.run_storage.postgres_url).connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM runs")) == 1

    warehouse = create_warehouse_engine(pg_url)
    try:
        (audit,) = read_table(warehouse, "load_run").to_dict("records")
        assert (audit["run_id"], audit["submissions_loaded"]) == (result.run_id, 1)
        assert read_table(warehouse, "yearly_summary", 2021)["half_days"].tolist() == [2]
    finally:
        warehouse.dispose()


def test_the_development_instance_has_the_same_limit(tmp_path):
    shutil.copy(DEPLOY / "dagster-dev.yaml", tmp_path / "dagster.yaml")
    instance = dg.DagsterInstance.from_config(str(tmp_path))
    try:
        limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
        assert limits == [
            {"key": "dagster/partition", "value": {"applyLimitPerUniqueValue": True}, "limit": 1}
        ]
    finally:
        instance.dispose()
