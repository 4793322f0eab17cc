"""Real processes for the fault and concurrency tests: ``crpv`` in a subprocess, a TCP proxy.

``start_crpv`` runs the command line in a fresh Python process (its output in files, so a chatty
Dagster never blocks on a full pipe); ``TcpProxy`` stands between the tests and the PostgreSQL
server on a loopback port that the test opens (forwarding) and closes (connection refused, open
connections cut), the way a server that stops and starts again looks to a client.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from crpv_pipeline.warehouse.engine import create_warehouse_engine
from crpv_pipeline_tests.tables import dump

REPO = Path(__file__).resolve().parents[1]
PATIENCE = 600
"""Overall bound (s) of a wait for a process or a file: a busy 2-core machine can take minutes
for what takes seconds when idle; every wait ends as soon as its condition holds."""
IGNORED_COLUMNS = {
    "submission": ("run_id", "loaded_at"),
    "load_run": ("run_id", "started_at", "finished_at"),
}
"""Columns that differ between two warehouses built from the same inbox: which run, and when."""


def crpv_env(**extra: str) -> dict[str, str]:
    """A ``crpv`` subprocess's environment: no Dagster home, no CRPV_* setting but ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRPV_") and k != "DAGSTER_HOME"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


@dataclass
class Process:
    """A started subprocess and the files holding its output."""

    popen: subprocess.Popen
    stdout: Path
    stderr: Path

    def wait(self, timeout: float = PATIENCE) -> int:
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(10)

    def err(self) -> str:
        return self.stderr.read_text(encoding="utf-8", errors="replace")

    def out(self) -> str:
        return self.stdout.read_text(encoding="utf-8", errors="replace")


def start_python(args: list[str], folder: Path, name: str, **env: str) -> Process:
    """``python ARGS`` in a new process, output in ``folder/<name>.out`` and ``.err``."""
    folder.mkdir(parents=True, exist_ok=True)
    stdout, stderr = folder / f"{name}.out", folder / f"{name}.err"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        popen = subprocess.Popen(
            [sys.executable, *args], stdout=out, stderr=err, env=crpv_env(**env), cwd=folder
        )
    return Process(popen, stdout, stderr)


def start_crpv_run(
    year: int, inbox: Path, url: str, output: Path, name: str = "crpv", **env: str
) -> Process:
    """``crpv run --year YEAR`` on ``url`` in a new process."""
    args = ["run", "--year", str(year), "--inbox", str(inbox), "--warehouse", url]
    return start_python(
        ["-m", "crpv_pipeline.cli", *args, "--output", str(output)],
        output.parent,
        name,
        **env,
    )


def wait_for_file(path: Path, process: Process, timeout: float = PATIENCE) -> None:
    """Wait until ``path`` exists; fail if the process ends first or time runs out."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.popen.poll() is not None:
            raise AssertionError(
                f"the process ended ({process.popen.returncode}):\n{process.err()}"
            )
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"{path.name} not written within {timeout} s:\n{process.err()}")
        time.sleep(0.05)


def snapshot(url: str) -> dict[str, list[dict]]:
    """Every warehouse table, in primary-key order (``tables.dump``)."""
    engine = create_warehouse_engine(url)
    try:
        return dump(engine)
    finally:
        engine.dispose()


def comparable(tables: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """The tables without ``IGNORED_COLUMNS`` (load_run sorted, since its key is the run id)."""
    out = {}
    for table, rows in tables.items():
        ignored = IGNORED_COLUMNS.get(table, ())
        kept = [{k: v for k, v in row.items() if k not in ignored} for row in rows]
        out[table] = sorted(kept, key=repr) if table == "load_run" else kept
    return out


def free_port() -> int:
    """A loopback port nobody listens on (connecting to it is refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class TcpProxy:
    """A loopback TCP proxy to ``target`` that the test opens and closes.

    Closed, its port refuses connections and the connections it carried are cut: what a client
    sees of a PostgreSQL server that stopped. Opened again, it forwards new connections.
    """

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def url(self, url: str) -> str:
        """``url`` (of the target server) pointed at the proxy."""
        parsed = sa.make_url(url).set(host="127.0.0.1", port=self.port)
        return parsed.render_as_string(hide_password=False)

    def open(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port))
        listener.settimeout(0.05)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def close(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        with suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


def peak_tree_memory(process: Process, timeout: float = 300, cap: int | None = None) -> int:
    """Peak resident memory (bytes) of ``process`` and all its children until it ends.

    Polled as fast as psutil reads it; past ``timeout`` seconds, or once the tree holds more than
    ``cap`` bytes, the process is killed (a guard that lets a bomb through fails quickly).
    """
    import psutil

    root = psutil.Process(process.popen.pid)
    deadline = time.monotonic() + timeout
    peak = 0
    while process.popen.poll() is None:
        total = 0
        for member in [root, *_children(root)]:
            with suppress(psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                total += member.memory_info().rss
        peak = max(peak, total)
        if (cap is not None and peak > cap) or time.monotonic() > deadline:
            for member in [*_children(root), root]:
                with suppress(psutil.NoSuchProcess):
                    member.kill()
            process.popen.wait(10)
            break
        time.sleep(0.01)
    return peak


def _children(root) -> list:
    import psutil

    with suppress(psutil.NoSuchProcess):
        return root.children(recursive=True)
    return []
