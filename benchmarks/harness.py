"""The benchmark harness: race the pipeline against the naive script and the floor, side by side.

Belongs here: one run of the benchmark, as the plan says (``results.Plan``): each corpus written
(``corpus``), each contender run on it (``children``), on SQLite and PostgreSQL, each in a fresh
child process on the same files, a fresh warehouse and a fresh output folder; the floor and the
pipeline several times (the median counts); ``crpv validate`` on one 300-row return against the
bare imports it needs; the re-runs of a year (``reruns``); then ``benchmarks/RESULTS.md``
(``report``), with every target of issues 6 and 18 judged (``targets``). The command line.

Stays out: the pipeline (it is called, never patched) and any pass/fail decision in tests
(the smoke test only checks that every figure is there).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.children import BenchmarkError, Measure, Warehouses, run_contender
from benchmarks.corpus import SPECS, CorpusSpec, build_corpus, write_return
from benchmarks.report import render
from benchmarks.reruns import measure_rerun, rerun_changes
from benchmarks.results import CONTENDERS, Plan, Results

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "benchmarks" / "RESULTS.md"
DEFAULT_CORPORA = ROOT / "benchmarks" / "corpus"
DEFAULT_PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BACKENDS = ("sqlite", "postgresql")
DEFAULT_CORPUS_NAMES = ("large", "clean-year", "bad-year", "network")
SINGLE_RUN = ("naive", "stages")
"""Contenders run once whatever ``repeats`` says: they are far from any target, and slow."""
STOP_AFTER = 25.0
"""A run of the pipeline is stopped once it has taken this many times the floor's whole process
on the same corpus and backend (at least ``STOP_AT_LEAST`` seconds): far beyond every goal (3×
at most), so that a path that is still slow cannot hold the benchmark for hours. The floor and
the contenders of ``SINGLE_RUN`` are never stopped."""
STOP_AT_LEAST = 60.0

__all__ = ["CONTENDERS", "BenchmarkError", "Plan", "render", "rerun_changes", "run_benchmark"]


def measure_validate_cli(workdir: Path, repeats: int) -> dict[str, float]:
    """Median wall time of ``crpv validate`` on a 300-row return and of the bare imports."""
    spec = CorpusSpec("validate-300", centres=1, rows_per_return=300)
    path = workdir / "IREV_2021.xlsx"
    write_return(path, "IREV", 1, spec)
    crpv = Path(sys.executable).with_name("crpv")
    commands = {
        "validate": [str(crpv), "validate", str(path)],
        "imports": [sys.executable, "-c", "import pandas, pandera.pandas, python_calamine"],
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRPV_")}
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeats + 1):  # the first round warms the file cache and is dropped
        for name, command in commands.items():
            start = time.perf_counter()
            done = subprocess.run(command, env=env, capture_output=True, cwd=workdir)
            times[name].append(time.perf_counter() - start)
            if done.returncode != 0:
                raise BenchmarkError(f"{' '.join(command)} failed: {done.stderr.decode()[-2000:]}")
    medians = {name: statistics.median(values[1:]) for name, values in times.items()}
    medians["ratio"] = medians["validate"] / medians["imports"]
    return medians


def _median(runs: list[Measure]) -> Measure:
    """The run of median wall time, with every run's time (a stopped run, when there is one)."""
    if any(m.stopped for m in runs):
        return next(m for m in runs if m.stopped)
    ordered = sorted(runs, key=lambda m: m.seconds)
    middle = ordered[(len(ordered) - 1) // 2]
    middle.runs = [m.seconds for m in runs] if len(runs) > 1 else []
    return middle


def _say(measure: Measure) -> str:
    if measure.stopped:
        return f"  stopped after {measure.process_seconds:.1f} s"
    counts = ", ".join(f"{v:,} {k}" for k, v in measure.counts.items() if k != "rows")
    return (
        f"  {measure.seconds:.1f} s (process {measure.process_seconds:.1f} s),"
        f" {measure.rows_per_second:,.0f} rows/s, peak {measure.peak_rss_bytes / 2**20:,.0f} MiB,"
        f" {measure.cores_used:.2f} cores" + (f"; {counts}" if counts else "")
    )


def run_benchmark(
    plan: Plan | None = None,
    backends: tuple[str, ...] = BACKENDS,
    contenders: tuple[str, ...] = CONTENDERS,
    corpora: Path = DEFAULT_CORPORA,
    validate_repeats: int = 7,
    pg_admin_url: str = DEFAULT_PG_ADMIN_URL,
    progress=print,
    repeats: int = 1,
    stop_after: float = STOP_AFTER,
) -> Results:
    """Race every corpus of the plan on every backend, then the validate and re-run measures.

    Contenders but those of ``SINGLE_RUN`` run ``repeats`` times; the median run counts. Every
    run has its own warehouse and output folder, removed once measured. ``validate_repeats``
    of 0 leaves the measure of ``crpv validate`` out. A run of the pipeline that takes
    ``stop_after`` times the floor's whole process is stopped and not repeated (0: never).
    """
    plan = plan or Plan()
    started = dt.datetime.now(dt.UTC).replace(microsecond=0)
    begin = time.perf_counter()
    races = plan.races(contenders)
    written = {
        spec.name: build_corpus(spec, corpora / spec.name, progress=progress) for spec, _ in races
    }
    for spec in plan.reruns():  # written now, so that the run's time says what writing took
        build_corpus(spec, corpora / spec.name, progress=progress)
    measures: list[Measure] = []
    with tempfile.TemporaryDirectory(prefix="crpv-bench-") as tmp:
        workdir = Path(tmp)
        warehouses = Warehouses(workdir, pg_admin_url)
        try:
            for spec, names in races:
                for backend in backends:
                    limit = None
                    for name in names:
                        times = 1 if name in SINGLE_RUN else repeats
                        progress(f"{name} on {spec.name}, {backend}: {times} run(s) …")
                        runs = []
                        for attempt in range(times):
                            label = f"{spec.name}-{name}-{backend}-{attempt}"
                            url = warehouses.new(backend, label)
                            run_dir = workdir / label
                            measure = run_contender(
                                name,
                                written[spec.name],
                                backend,
                                url,
                                run_dir,
                                limit=None if name in SINGLE_RUN else limit,
                            )
                            warehouses.drop(url)
                            shutil.rmtree(run_dir, ignore_errors=True)
                            progress(_say(measure))
                            runs.append(measure)
                            if measure.stopped:
                                break
                        measures.append(_median(runs))
                        if name == "floor" and stop_after > 0:
                            floor = measures[-1].process_seconds
                            limit = max(STOP_AT_LEAST, stop_after * floor)
            validate_cli = {}
            if validate_repeats > 0:
                progress("crpv validate on one 300-row return, against the bare imports …")
                validate_cli = measure_validate_cli(workdir, validate_repeats)
            reruns = []
            for rerun_spec in plan.reruns():
                for backend in backends:
                    changes = rerun_changes(rerun_spec.centres)
                    progress(
                        f"re-runs of {rerun_spec.name} after {', '.join(map(str, changes))} of"
                        f" {rerun_spec.centres} returns changed, {backend} …"
                    )
                    rows = measure_rerun(rerun_spec, corpora, backend, warehouses, workdir)
                    progress(
                        f"  first {rows[0]['first']:.1f} s, re-runs "
                        + ", ".join(
                            f"{r['rerun']:.1f} s ({r['outputs']['untouched']} outputs untouched)"
                            for r in rows
                        )
                    )
                    reruns.extend(rows)
        finally:
            warehouses.drop_all()
    seconds = time.perf_counter() - begin
    return Results(plan, measures, validate_cli, reruns, started, seconds, stop_after)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=(
            "Race the CRPV pipeline against the naive script (pandas.read_excel + to_sql) and "
            "the floor (calamine + one bulk insert) on generated corpora of real .xlsx returns, "
            "on SQLite and PostgreSQL, judge every target of issues 6 and 18 and write them to "
            "benchmarks/RESULTS.md."
        ),
    )
    roles = ", ".join(f"{name} ({spec.role})" for name, spec in SPECS.items())
    parser.add_argument(
        "--corpus",
        default=",".join(DEFAULT_CORPUS_NAMES),
        help="comma-separated corpora, at most one per role; each plays its own role: "
        f"{roles} (default: {','.join(DEFAULT_CORPUS_NAMES)}: every target on the corpus it is"
        " stated for; any other corpus stands in for them, its figures shown, not judged)",
    )
    parser.add_argument(
        "--backends",
        default=",".join(BACKENDS),
        help="comma-separated: sqlite, postgresql (default: both)",
    )
    parser.add_argument(
        "--contenders",
        default=",".join(CONTENDERS),
        help="comma-separated subset of " + ", ".join(CONTENDERS) + " (crpv: `crpv run --year`,"
        " the whole process as a user runs it)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help=f"where to write the results (default: {DEFAULT_OUTPUT})",
    )
    parser.add_argument(
        "--corpora",
        type=Path,
        default=DEFAULT_CORPORA,
        help="where generated corpora are kept and reused",
    )
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get("CRPV_BENCH_PG_ADMIN_URL", DEFAULT_PG_ADMIN_URL),
        help="PostgreSQL URL allowed to create databases (CRPV_BENCH_PG_ADMIN_URL)",
    )
    parser.add_argument(
        "--validate-repeats",
        type=int,
        default=7,
        help="runs of crpv validate and of the bare imports (default: 7; 0 leaves them out)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="runs of the floor and the pipeline, the median counts (default: 3)",
    )
    parser.add_argument(
        "--stop-after",
        type=float,
        default=STOP_AFTER,
        help="stop a run of the pipeline once it has taken this many times the floor's whole"
        f" process, at least {STOP_AT_LEAST:.0f} s (default: {STOP_AFTER:.0f}; 0: never)",
    )
    args = parser.parse_args(argv)
    backends = tuple(b.strip() for b in args.backends.split(",") if b.strip())
    contenders = tuple(c.strip() for c in args.contenders.split(",") if c.strip())
    names = [name.strip() for name in args.corpus.split(",") if name.strip()]
    unknown = (
        [b for b in backends if b not in BACKENDS]
        + [c for c in contenders if c not in CONTENDERS]
        + [n for n in names if n not in SPECS]
    )
    if unknown:
        parser.error(f"unknown backend, contender or corpus: {', '.join(unknown)}")
    if 0 < args.stop_after <= 3:
        parser.error("--stop-after must be 0 (never) or more than 3 (the largest goal)")
    try:
        plan = Plan.of(names)
    except ValueError as err:
        parser.error(f"one corpus per role: {err}")
    try:
        results = run_benchmark(
            plan,
            backends,
            contenders,
            args.corpora,
            args.validate_repeats,
            args.pg_admin_url,
            repeats=args.repeats,
            stop_after=args.stop_after,
        )
    except BenchmarkError as err:
        print(f"Error: {err}", file=sys.stderr)
        return 3
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(render(results, args.pg_admin_url), encoding="utf-8")
    print(f"Results written to {args.output}")
    return 0
