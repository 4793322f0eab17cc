"""The inbox sensor through Dagster's own sensor context: what each tick requests."""

import dagster as dg
import pytest

from crpv_pipeline.orchestration.definitions import build_definitions
from crpv_pipeline.orchestration.resources import InboxResource
from crpv_pipeline_tests.workbooks import row, write_return


@pytest.fixture
def inbox(tmp_path):
    return tmp_path / "inbox"


@pytest.fixture
def sensor():
    return build_definitions().resolve_sensor_def("inbox_sensor")


def tick(sensor, inbox, cursor=None) -> dg.SensorResult:
    context = dg.build_sensor_context(
        cursor=cursor, resources={"inbox": InboxResource(path=str(inbox))}
    )
    return sensor(context)


def settle(sensor, inbox, cursor=None) -> dg.SensorResult:
    """Two ticks: files seen for the first time wait for the next one."""
    first = tick(sensor, inbox, cursor)
    assert not first.run_requests
    return tick(sensor, inbox, first.cursor)


def test_the_sensor_runs_by_default_on_the_year_job(sensor):
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.job_name == "bilan_year"
    assert sensor.minimum_interval_seconds == 30


def test_its_interval_is_configurable(monkeypatch):
    monkeypatch.setenv("CRPV_SENSOR_INTERVAL_SECONDS", "2")
    assert build_definitions().resolve_sensor_def("inbox_sensor").minimum_interval_seconds == 2
    monkeypatch.setenv("CRPV_SENSOR_INTERVAL_SECONDS", "soon")
    with pytest.raises(ValueError, match="CRPV_SENSOR_INTERVAL_SECONDS='soon'"):
        build_definitions()


def test_a_new_file_requests_a_run_of_its_year(sensor, inbox):
    write_return(inbox / "2021" / "IREV_2021.xlsx")
    waiting = tick(sensor, inbox)
    assert not waiting.run_requests
    assert "waiting for files still arriving in 2021" in waiting.skip_reason.skip_message
    result = tick(sensor, inbox, waiting.cursor)
    (request,) = result.run_requests
    assert request.partition_key == "2021"
    assert request.tags["crpv/year"] == "2021"
    assert request.run_key.startswith("2021-1-")


def test_an_unchanged_inbox_requests_nothing(sensor, inbox):
    write_return(inbox / "2021" / "IREV_2021.xlsx")
    done = settle(sensor, inbox)
    again = tick(sensor, inbox, done.cursor)
    assert not again.run_requests
    assert again.skip_reason.skip_message == f"no change in 2021 (inbox {inbox.absolute()})"


def test_a_missing_inbox_is_named_in_the_skip_reason(sensor, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # CRPV_INBOX unset: the default, relative, inbox
    result = tick(sensor, "inbox")
    assert not result.run_requests
    assert result.skip_reason.skip_message == (
        f"the inbox {tmp_path / 'inbox'} does not exist (CRPV_INBOX)"
    )


def test_an_inbox_with_no_year_folder_of_returns_is_named(sensor, inbox):
    (inbox / "2021").mkdir(parents=True)  # empty, as after the demo wrote elsewhere
    result = tick(sensor, inbox)
    assert not result.run_requests
    assert result.skip_reason.skip_message == f"no year folder with returns in {inbox}"


def test_a_changed_file_requests_a_new_run(sensor, inbox):
    path = write_return(inbox / "2021" / "IREV_2021.xlsx")
    done = settle(sensor, inbox)
    write_return(path, [row(title="Corrigée")])
    (request,) = settle(sensor, inbox, done.cursor).run_requests
    assert request.run_key.startswith("2021-2-")
    assert request.run_key != done.run_requests[0].run_key


def test_two_years_changed_at_once_request_two_runs(sensor, inbox):
    write_return(inbox / "2020" / "IREV_2020.xlsx", [row(activity_date="12/03/2020")], year=2020)
    write_return(inbox / "2021" / "IREV_2021.xlsx")
    result = settle(sensor, inbox)
    assert sorted(r.partition_key for r in result.run_requests) == ["2020", "2021"]


def test_a_removed_file_requests_a_run(sensor, inbox):
    write_return(inbox / "2021" / "IREV_2021.xlsx")
    write_return(inbox / "2021" / "IREV bis.xlsx", [row(title="Doublon")])
    done = settle(sensor, inbox)
    (inbox / "2021" / "IREV bis.xlsx").unlink()
    (request,) = settle(sensor, inbox, done.cursor).run_requests
    assert request.partition_key == "2021"


def test_lock_files_do_not_trigger(sensor, inbox):
    write_return(inbox / "2021" / "IREV_2021.xlsx")
    done = settle(sensor, inbox)
    (inbox / "2021" / "~$IREV_2021.xlsx").write_bytes(b"lock")
    assert not tick(sensor, inbox, done.cursor).run_requests
