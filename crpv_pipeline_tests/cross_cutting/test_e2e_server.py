"""End to end through the real Dagster webserver and daemon, as ops run it.

Starts ``dagster-webserver`` and ``dagster-daemon`` on a free loopback port with the project's
workspace.yaml and the production instance (deploy/dagster.yaml, storage in a fresh PostgreSQL
database), a temporary inbox, output folder and SQLite warehouse. A return dropped into the inbox
must be picked up by the inbox sensor with no other action, run, and land in the warehouse; a
corrected return must then supersede it and update the derived tables. Every process started
here (and whatever they started) is stopped at the end, even when the test fails.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

from crpv_pipeline.warehouse.engine import create_warehouse_engine
from crpv_pipeline.warehouse.tables import read_table
from crpv_pipeline_tests.instance_home import production_home
from crpv_pipeline_tests.workbooks import row, write_return

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 300
RUN_SECONDS = 600
"""Overall bounds, never pauses: every wait ends as soon as its condition holds. A run takes
seconds on an idle machine, but minutes on a busy 2-core one (each step is a process)."""
UNANSWERED = (urllib.error.URLError, ConnectionError, TimeoutError)
"""A webserver busy or not yet listening: ask again at the next poll."""

T = TypeVar("T")


def _script(name: str) -> str:
    """A console script of this Python environment (else of the PATH)."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed in this environment")
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _group_alive(process: subprocess.Popen) -> bool:
    process.poll()  # reap the group leader if it has exited
    try:
        os.killpg(process.pid, 0)
    except ProcessLookupError:
        return False
    return True


def _stop(process: subprocess.Popen) -> None:
    """Stop a process and its whole group (code servers, run workers, step processes)."""
    for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while _group_alive(process) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not _group_alive(process):
            return


def _strays(marker: str) -> list[int]:
    """Processes still running whose environment names our temporary DAGSTER_HOME."""
    pids = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                pids.append(int(entry.name))
        except OSError:
            continue
    return [p for p in pids if p != os.getpid()]


def _kill_strays(marker: str) -> None:
    """Kill what escaped the process groups (none expected), and wait until it is gone."""
    for pid in _strays(marker):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 5
    while _strays(marker) and time.monotonic() < deadline:
        time.sleep(0.1)


@dataclass
class Server:
    url: str
    inbox: Path
    warehouse_url: str
    logs: list[Path]

    def graphql(self, query: str, **variables) -> dict:
        body = json.dumps({"query": query, "variables": variables}).encode()
        request = urllib.request.Request(
            f"{self.url}/graphql", body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.loads(response.read())
        assert "errors" not in answer, answer
        return answer["data"]

    def log_tail(self) -> str:
        return "\n".join(
            f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-40:])
            for log in self.logs
        )


def _wait(server: Server, what: str, seconds: float, condition: Callable[[], T | None]) -> T:
    """Poll ``condition`` until it returns something, for at most ``seconds`` in all."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            value = condition()
        except UNANSWERED:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what} in {seconds} s\n{server.log_tail()}")
        time.sleep(1)


@pytest.fixture
def server(tmp_path, new_pg_database) -> Iterator[Server]:
    home = tmp_path / "dagster_home"
    env = {
        **os.environ,
        **production_home(home, new_pg_database("crpv_dagster")),
        "CRPV_INBOX": str(tmp_path / "inbox"),
        "CRPV_OUTPUT": str(tmp_path / "out"),
        "CRPV_WAREHOUSE_URL": f"sqlite:///{tmp_path / 'warehouse.sqlite'}",
        "CRPV_SENSOR_INTERVAL_SECONDS": "1",
    }
    env.pop("CRPV_EXECUTOR", None)
    port = _free_port()
    commands = {
        "webserver": [_script("dagster-webserver"), "-h", "127.0.0.1", "-p", str(port)],
        "daemon": [_script("dagster-daemon"), "run"],
    }
    # Dagster's tables first, as docs/deploy.md says: two services started together on an empty
    # database race to create them ("type jobs already exists").
    migrate = subprocess.run(
        [_script("dagster"), "instance", "migrate"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=STARTUP_SECONDS,
    )
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    processes, logs = [], []
    try:
        for name, command in commands.items():
            log = tmp_path / f"{name}.log"
            logs.append(log)
            with log.open("wb") as out:
                processes.append(
                    subprocess.Popen(
                        [*map(str, command), "-w", str(ROOT / "workspace.yaml")],
                        cwd=tmp_path,
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,  # its own process group, stopped as a whole
                    )
                )
        server = Server(
            f"http://127.0.0.1:{port}", tmp_path / "inbox", env["CRPV_WAREHOUSE_URL"], logs
        )
        _wait_until_loaded(server, processes)
        yield server
    finally:
        for process in processes:
            _stop(process)
        _kill_strays(str(home))
    assert not _strays(str(home)), "processes of the test's Dagster instance still run"


def _wait_until_loaded(server: Server, processes: list[subprocess.Popen]) -> None:
    def loaded() -> bool:
        if any(p.poll() is not None for p in processes):
            pytest.fail(f"a Dagster process exited at start-up\n{server.log_tail()}")
        data = server.graphql(
            "{ workspaceOrError { ... on Workspace { locationEntries {"
            " locationOrLoadError { __typename } } } } }"
        )
        entries = data["workspaceOrError"]["locationEntries"]
        kind = (
            entries[0]["locationOrLoadError"]["__typename"]
            if entries and entries[0]["locationOrLoadError"]
            else None
        )
        if kind == "PythonError":
            pytest.fail(f"the code location failed to load\n{server.log_tail()}")
        return kind == "RepositoryLocation"

    _wait(server, "the webserver did not load the code location", STARTUP_SECONDS, loaded)


RUNS = """
query ($partition: String!) {
  runsOrError(filter: {tags: [{key: "dagster/partition", value: $partition}]}) {
    ... on Runs { results { runId status startTime endTime tags { key value } } }
  }
}
"""


def _wait_for_runs(server: Server, count: int, partition: str = "2021") -> list[dict]:
    """Wait until ``count`` runs of the partition have succeeded; fail on a failed run."""

    def succeeded() -> list[dict] | None:
        runs = server.graphql(RUNS, partition=partition)["runsOrError"]["results"]
        failed = [r for r in runs if r["status"] in ("FAILURE", "CANCELED")]
        if failed:
            pytest.fail(
                f"run {failed[0]['runId']} ended {failed[0]['status']}\n{server.log_tail()}"
            )
        done = [r for r in runs if r["status"] == "SUCCESS"]
        return done if len(done) >= count and len(runs) == len(done) else None

    return _wait(server, f"no {count} successful runs of {partition}", RUN_SECONDS, succeeded)


def _wait_for_a_run_request(server: Server, count: int, partition: str = "2021") -> None:
    """Wait until the sensor has requested a run (queued, started or done) ``count`` times."""
    _wait(
        server,
        f"the sensor requested no run #{count} of {partition}",
        RUN_SECONDS,
        lambda: len(server.graphql(RUNS, partition=partition)["runsOrError"]["results"]) >= count,
    )


def _warehouse(server: Server) -> dict:
    engine = create_warehouse_engine(server.warehouse_url)
    try:
        return {
            t: read_table(engine, t, 2021) for t in ("submission", "yearly_summary", "load_run")
        }
    finally:
        engine.dispose()


def test_a_return_dropped_in_the_inbox_reaches_the_warehouse_with_no_other_action(server):
    graph = server.graphql("{ assetNodes { assetKey { path } dependencyKeys { path } } }")
    parents = {
        node["assetKey"]["path"][0]: {d["path"][0] for d in node["dependencyKeys"]}
        for node in graph["assetNodes"]
    }
    assert parents["validated_returns"] == {"inbox_files"}
    assert {"submission", "fact_activity", "load_run", "completeness"} <= parents.keys()
    assert "fact_activity" in parents["yearly_summary"]
    node = server.graphql(
        '{ assetNodeOrError(assetKey: {path: ["fact_activity"]}) {'
        " ... on AssetNode { partitionKeys } } }"
    )["assetNodeOrError"]
    assert node["partitionKeys"][0] == "2015" and "2021" in node["partitionKeys"]
    sensor = server.graphql(
        '{ sensorOrError(sensorSelector: {repositoryLocationName: "crpv_pipeline",'
        ' repositoryName: "__repository__", sensorName: "inbox_sensor"}) {'
        " ... on Sensor { sensorState { status } } } }"
    )["sensorOrError"]
    assert sensor["sensorState"]["status"] == "RUNNING"

    write_return(
        server.inbox / "2021" / "IREV_2021.xlsx", [row(), row(title="Atelier", half_days=3)]
    )
    (first,) = _wait_for_runs(server, 1)
    assert {"key": "dagster/sensor_name", "value": "inbox_sensor"} in first["tags"]
    tables = _warehouse(server)
    assert tables["submission"][["centre_code", "status"]].values.tolist() == [["IREV", "loaded"]]
    assert tables["yearly_summary"]["half_days"].tolist() == [2 + 3]

    # A corrected return, then, while its run is queued or running, a second correction: the
    # runs of the year wait for each other, and the warehouse ends with the last correction.
    write_return(server.inbox / "2021" / "IREV_2021.xlsx", [row(title="Atelier", half_days=4)])
    _wait_for_a_run_request(server, 2)
    write_return(
        server.inbox / "2021" / "IREV_2021.xlsx", [row(), row(title="Atelier", half_days=4)]
    )
    runs = sorted(_wait_for_runs(server, 3), key=lambda r: r["startTime"])
    for earlier, later in zip(runs, runs[1:], strict=False):
        assert later["startTime"] >= earlier["endTime"], "two runs of 2021 overlapped"

    tables = _warehouse(server)
    submissions = tables["submission"].to_dict("records")
    assert [s["status"] for s in submissions] == ["superseded"] * (len(submissions) - 1) + [
        "loaded"
    ]
    previous, current = submissions[-2], submissions[-1]
    assert current["replaces_submission_id"] == previous["submission_id"]
    assert (current["half_days_before"], current["half_days_after"]) == (
        previous["half_days_after"],
        2 + 4,
    )
    assert tables["yearly_summary"]["half_days"].tolist() == [2 + 4]
    assert set(tables["load_run"]["run_id"]) == {r["runId"] for r in runs}
    assert tables["load_run"]["finished_at"].notna().all()
