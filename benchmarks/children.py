"""Running one contender in a fresh child process on a fresh warehouse, and watching it.

Belongs here: the child's command and environment, its wall time, peak memory (RSS of the child
and every process it starts, sampled every 20 ms) and CPU time, what it says it did
(``BENCH-RESULT``), what it left in the warehouse (activities, findings, rejected returns), and
the fresh warehouses themselves (SQLite files, PostgreSQL databases dropped at the end).

Stays out: what the contenders do (``contenders``, or the ``crpv`` console script), which runs
are made and how they are judged (``harness``, ``targets``).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.corpus import Corpus

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_SECONDS = 0.02
CLI = "crpv"
"""The contender that is ``crpv run --year`` itself: the console script, a whole process."""
PIPELINE = ("stages", "warehouse", "dagster", CLI)
"""Contenders that run the pipeline, whose warehouse is counted after the run."""


class BenchmarkError(RuntimeError):
    """A contender failed: the message names it and ends with its error output."""


@dataclass
class Measure:
    """One contender's run on one corpus and backend."""

    contender: str
    backend: str
    seconds: float
    """Wall time of the work (the child's start-up and imports excluded; for ``crpv``, whose
    work cannot be told apart, the whole process)."""
    rows: int
    peak_rss_bytes: int
    cpu_seconds: float
    process_seconds: float
    """Wall time of the whole child process (start-up included), over which CPU is counted."""
    stages: dict[str, float] = field(default_factory=dict)
    runs: list[float] = field(default_factory=list)
    """Wall time of every run of the contender when it ran several times (this is the median)."""
    corpus: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    """What the run left: activities, findings and rejected returns in the warehouse; the files
the floor skipped."""
    stopped: bool = False
    """The run was stopped at its time limit: its times are how long it ran, not its work."""

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    @property
    def cores_used(self) -> float:
        return self.cpu_seconds / self.process_seconds if self.process_seconds else 0.0


STOPPED = -1
"""The exit code ``watch`` gives a child it stopped at its time limit."""


def watch(
    command: list[str], env: dict[str, str], log: Path, limit: float | None = None
) -> tuple[int, int, float, float]:
    """Run ``command``; its exit code, peak RSS of its process tree, CPU seconds, wall seconds.

    A child still running after ``limit`` seconds is stopped with every process it started
    (exit code ``STOPPED``).
    """
    import psutil

    cpu: dict[int, float] = {}
    peak = 0
    start = time.perf_counter()
    with log.open("wb") as out:
        child = psutil.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        while child.poll() is None:
            rss = 0
            try:
                tree = [child, *child.children(recursive=True)]
            except psutil.NoSuchProcess:
                tree = []
            if limit is not None and time.perf_counter() - start > limit:
                _stop(tree)
                return STOPPED, peak, sum(cpu.values()), time.perf_counter() - start
            for process in tree:
                try:
                    with process.oneshot():
                        rss += process.memory_info().rss
                        times = process.cpu_times()
                        cpu[process.pid] = times.user + times.system
                except psutil.NoSuchProcess:
                    continue
            peak = max(peak, rss)
            time.sleep(SAMPLE_SECONDS)
    wall = time.perf_counter() - start
    return child.returncode, peak, sum(cpu.values()), wall


def _stop(tree: list) -> None:
    """Kill a child and the processes it started (all of them started by this benchmark)."""
    import psutil

    for process in reversed(tree):  # the workers first, so that none is left behind
        try:
            process.kill()
        except psutil.NoSuchProcess:
            continue
    psutil.wait_procs(tree, timeout=30)


def child_env(corpus: Corpus, workdir: Path) -> dict[str, str]:
    """The environment of a child: no CRPV_ or DAGSTER_ setting but the corpus's reference."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRPV_", "DAGSTER_"))}
    env["CRPV_REFERENCE_DIR"] = str(corpus.reference_dir)
    env["CRPV_OUTPUT"] = str(workdir / "output")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def _command(name: str, corpus: Corpus, inbox: Path, url: str, workdir: Path) -> list[str]:
    year = str(corpus.spec.year)
    if name == CLI:  # as a user runs it: the console script of the environment
        crpv = Path(sys.executable).with_name("crpv")
        where = ["--inbox", str(inbox), "--warehouse", url, "--output", str(workdir / "output")]
        return [str(crpv), "run", "--year", year, *where]
    return [
        sys.executable,
        "-m",
        "benchmarks.contenders",
        name,
        str(inbox),
        year,
        url,
        str(workdir),
    ]


def warehouse_counts(url: str, year: int) -> dict[str, int]:
    """Activities, findings and rejected returns of ``year`` in the warehouse at ``url``."""
    import sqlalchemy as sa

    queries = {
        "rows": "SELECT count(*) FROM fact_activity WHERE year = :year",
        "findings": "SELECT count(*) FROM validation_failure WHERE year = :year",
        "rejected": "SELECT count(*) FROM submission WHERE year = :year AND status = 'rejected'",
    }
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return {k: int(conn.scalar(sa.text(q), {"year": year})) for k, q in queries.items()}
    finally:
        engine.dispose()


def run_contender(
    name: str,
    corpus: Corpus,
    backend: str,
    url: str,
    workdir: Path,
    inbox: Path | None = None,
    limit: float | None = None,
) -> Measure:
    """Run one contender in a child process and measure it (stopped after ``limit`` seconds)."""
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / f"{name}-{backend}.log"
    command = _command(name, corpus, inbox or corpus.inbox, url, workdir)
    code, peak, cpu, wall = watch(command, child_env(corpus, workdir), log, limit)
    if code == STOPPED:
        return Measure(
            name, backend, wall, 0, peak, cpu, wall, corpus=corpus.spec.name, stopped=True
        )
    text = log.read_text(encoding="utf-8", errors="replace")
    lines = [line for line in text.splitlines() if line.startswith("BENCH-RESULT ")]
    if code != 0 or not (lines or name == CLI):
        tail = "\n".join(text.splitlines()[-25:])
        raise BenchmarkError(f"{name} on {backend} failed (exit {code}):\n{tail}")
    outcome = json.loads(lines[-1].removeprefix("BENCH-RESULT ")) if lines else {}
    peak = max(peak, int(outcome.get("self_max_rss_kib", 0)) * 1024)
    counts = warehouse_counts(url, corpus.spec.year) if name in PIPELINE else {}
    if "skipped_files" in outcome:
        counts["skipped_files"] = outcome["skipped_files"]
    return Measure(
        name,
        backend,
        outcome.get("seconds", wall),
        outcome.get("rows", counts.get("rows", 0)),
        peak,
        cpu,
        wall,
        outcome.get("stages", {}),
        corpus=corpus.spec.name,
        counts=counts,
    )


class Warehouses:
    """Fresh, empty warehouses: SQLite files in the work folder, PostgreSQL databases."""

    def __init__(self, workdir: Path, pg_admin_url: str):
        self.workdir = workdir
        self.pg_admin_url = pg_admin_url
        self._databases: list[str] = []

    def new(self, backend: str, label: str) -> str:
        if backend == "sqlite":
            path = self.workdir / f"{label}-{secrets.token_hex(3)}.sqlite"
            return f"sqlite:///{path}"
        import sqlalchemy as sa

        name = f"crpv_bench_{secrets.token_hex(4)}"  # hex only: safe as an identifier
        engine = sa.create_engine(self.pg_admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
        engine.dispose()
        self._databases.append(name)
        return sa.make_url(self.pg_admin_url).set(database=name).render_as_string(False)

    def drop(self, url: str) -> None:
        """Remove the warehouse at ``url`` now that it is measured (it may take a gigabyte)."""
        if url.startswith("sqlite:///"):
            path = Path(url.removeprefix("sqlite:///"))
            for part in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                part.unlink(missing_ok=True)
            return
        import sqlalchemy as sa

        name = sa.make_url(url).database
        if name not in self._databases:
            return
        engine = sa.create_engine(self.pg_admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        engine.dispose()
        self._databases.remove(name)

    def drop_all(self) -> None:
        if not self._databases:
            return
        import sqlalchemy as sa

        engine = sa.create_engine(self.pg_admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            for name in self._databases:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        engine.dispose()
        self._databases.clear()
