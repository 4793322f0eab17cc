"""Smoke test of the benchmark harness on tiny corpora, so that it cannot rot.

It checks that every contender runs and writes what it should, that the bad year's corpus is
shaped as it says, and that RESULTS.md carries every target of issues 6 and 18 with a measured
figure; it asserts no speed (speed is measured by the full run, in the README, never by a
timed test).
"""

import datetime
import os
import re
import sys
from collections import Counter

import pytest

from benchmarks import bad_year
from benchmarks.children import STOPPED, Measure, watch
from benchmarks.corpus import SPECS, build_corpus
from benchmarks.harness import CONTENDERS, Plan, render, rerun_changes, run_benchmark
from benchmarks.reruns import compare, fingerprint
from benchmarks.results import Results
from benchmarks.targets import GIB, issue_18

TINY = SPECS["tiny"]
TINY_BAD = SPECS["tiny-bad-year"]
SMOKE = Plan(scale=TINY, year=TINY, bad_year=TINY_BAD, rerun=TINY)
"""The tiny corpus plays every role but the bad year's: raced once, re-run once."""
ISSUE_18_LINES = (  # (target, label): one line per backend each
    ("1", "`crpv run --year`, every asset, whole process ÷ floor, whole process"),
    ("1", "steward overview + correction workbooks ÷ `validate_and_load`"),
    ("2", "`crpv run --year`, every asset, whole process ÷ floor, whole process"),
    ("3, 4", "whole pipeline (read → derive, Dagster in process) ÷ floor"),
    ("3", "cores used by the whole pipeline"),
    ("4", "every asset (+ workbooks, overview, bilan; in process) ÷ floor"),
    ("4", "peak memory of a pipeline run"),
    ("5", "re-run, nothing changed ÷ first run"),
    ("5", "outputs left untouched by that re-run"),
)
ISSUE_6_LINES = (
    "whole pipeline (read → derive, Dagster) ÷ floor",
    "naive script ÷ whole pipeline",
    "peak memory of a pipeline run",
    "cores used by the whole pipeline",
    "`crpv validate` (300 rows) ÷ bare imports",
    "re-run, none of 4 returns of 30 rows changed ÷ first run",
    "re-run, 1 of 4 returns of 30 rows changed ÷ first run",
)


def test_the_corpus_is_deterministic(tmp_path):
    first = build_corpus(TINY, tmp_path / "a", progress=lambda _: None)
    second = build_corpus(TINY, tmp_path / "b", progress=lambda _: None)
    assert [p.name for p in first.files()] == [
        "CRPVE_2021.xlsx",
        "IREV_2021.xlsx",
        "POLERESSOURCES_2021.xlsx",
        "PROFBANLIEUE_2021.xlsx",
    ]
    assert [p.read_bytes() for p in first.files()] == [p.read_bytes() for p in second.files()]
    assert (first.reference_dir / "centres.csv").read_text() == (
        second.reference_dir / "centres.csv"
    ).read_text()


def test_a_bad_year_is_mostly_returns_full_of_findings_and_five_rejected():
    spec = SPECS["bad-year"]
    kinds = Counter(bad_year.return_kind(i, spec) for i in range(spec.centres))
    assert kinds == {
        bad_year.MANY: 75,
        bad_year.ORDINARY: 20,
        **dict.fromkeys(bad_year.REJECTIONS, 1),
    }
    assert (spec.centres, spec.rows_per_return) == (100, 2_000)
    assert SPECS["clean-year"].rows == 200_000 and not SPECS["clean-year"].many_findings


def test_outputs_are_told_apart_untouched_rewritten_new_and_removed(tmp_path):
    for name in ("kept.xlsx", "same.xlsx", "other.html", "gone.xlsx"):
        (tmp_path / name).write_text(name)
    before = fingerprint(tmp_path)
    for name, text in (("same.xlsx", "same.xlsx"), ("other.html", "changed"), ("new.xlsx", "n")):
        (tmp_path / f"{name}.tmp").write_text(text)
        (tmp_path / f"{name}.tmp").replace(tmp_path / name)  # as the atomic writer does
    (tmp_path / "gone.xlsx").unlink()
    assert compare(before, fingerprint(tmp_path)) == {
        "untouched": 1,
        "same bytes": 1,
        "other bytes": 1,
        "new": 1,
        "removed": 1,
    }


def test_repeated_runs_keep_the_median_and_every_time(tmp_path):
    results = run_benchmark(
        Plan(scale=None, year=TINY, bad_year=None, rerun=None),  # no re-run
        backends=("sqlite",),
        contenders=("floor",),
        corpora=tmp_path / "corpora",
        validate_repeats=0,
        progress=lambda _: None,
        repeats=3,
    )
    (floor,) = results.measures
    assert len(floor.runs) == 3 and floor.seconds == sorted(floor.runs)[1]
    assert results.reruns == [] and results.validate_cli == {}


POSTGRES = pytest.param("postgresql", marks=pytest.mark.postgres)


@pytest.mark.parametrize("backend", ["sqlite", POSTGRES])
def test_the_harness_measures_every_contender_and_target(backend, tmp_path, request):
    admin_url = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    if backend == "postgresql":
        engine = request.getfixturevalue("pg_admin_engine")  # skips, or fails under CI
        admin_url = engine.url.render_as_string(hide_password=False)
    results = run_benchmark(
        SMOKE,
        backends=(backend,),
        corpora=tmp_path / "corpora",
        validate_repeats=1,
        pg_admin_url=admin_url,
        progress=lambda _: None,
    )
    rows = {(m.corpus, m.contender): m.rows for m in results.measures}
    # The naive script and the floor write every row; the pipeline quarantines the 5 rows with
    # an error in each of the 2 spoiled returns (the corpus is the same every time). In the bad
    # year, the floor skips what calamine cannot read (not a workbook, no sheet of activities:
    # 8 of 10 returns of 40 rows read); the pipeline rejects 5 returns and quarantines 2 rows
    # in each of the 4 full of findings.
    assert rows == {
        **{("tiny", c): 110 for c in CONTENDERS},
        ("tiny", "naive"): 120,
        ("tiny", "floor"): 120,
        ("tiny-bad-year", "floor"): 320,
        ("tiny-bad-year", "dagster"): 192,
        ("tiny-bad-year", "crpv"): 192,
    }
    assert all(m.seconds > 0 and m.peak_rss_bytes > 0 for m in results.measures)
    bad = results.get("crpv", backend, "tiny-bad-year")
    assert bad.counts == {"rows": 192, "findings": 57, "rejected": 5}
    assert results.get("floor", backend, "tiny-bad-year").counts == {"skipped_files": 2}
    assert set(results.get("stages", backend).stages) == {
        "read",
        "normalise",
        "validate",
        "load",
        "derive",
    }
    assert "bilan_report" not in results.get("warehouse", backend).stages
    every_asset = results.get("dagster", backend, "tiny-bad-year").stages
    assert {"validate_and_load", "correction_workbooks", "steward_overview"} <= set(every_asset)
    # Re-runs after no return changed, then one: 4 returns are too few for one in 17; the
    # outputs of each are fingerprinted before and after.
    reruns = [(r["backend"], r["corpus"], r["changed"]) for r in results.reruns]
    assert reruns == [(backend, "tiny", 0), (backend, "tiny", 1)]
    assert all(r["ratio"] > 0 and r["process_ratio"] > 0 for r in results.reruns)
    assert all(sum(r["outputs"].values()) >= 3 for r in results.reruns)  # bilan ×2, overview
    assert rerun_changes(17) == (0, 1) and rerun_changes(200) == (0, 1, 12)

    text = render(results, admin_url)
    lines = text.splitlines()
    for target, label in ISSUE_18_LINES:
        (line,) = [x for x in lines if x.startswith(f"| {target} | {label}")]
        assert re.search(r"\d+\.\d\d|\d+ of \d+ untouched", line), line
        assert f"| {backend} |" in line, line
        assert "shown (st" in line, line  # tiny corpora stand in: nothing is judged
    for label in ISSUE_6_LINES:
        (line,) = [x for x in lines if x.startswith(f"| {label}")]
        assert re.search(r"\d+\.\d\d", line), line
    assert "a run records 57 findings and rejects 5 returns" in text


GRANDCHILD = "import pathlib, sys, time; pathlib.Path(sys.argv[1]).touch(); time.sleep(600)"
SLEEPER = f"""
import subprocess, sys, time
subprocess.Popen([sys.executable, "-c", {GRANDCHILD!r}, sys.argv[1]])
time.sleep(600)
"""


def test_a_run_past_its_limit_is_stopped_with_every_process_it_started(tmp_path):
    import psutil

    started = tmp_path / "grandchild-started"
    command = [sys.executable, "-c", SLEEPER, str(started)]
    code, _, _, _ = watch(command, dict(os.environ), tmp_path / "log", limit=10.0)
    assert code == STOPPED and started.exists()  # the grandchild ran, and was stopped too
    left = [
        p for p in psutil.process_iter(["cmdline"]) if str(started) in (p.info["cmdline"] or [])
    ]
    assert left == []


def _measure(contender, backend, corpus, seconds, process=None, **extra):
    return Measure(
        contender,
        backend,
        seconds,
        1000,
        extra.pop("peak", GIB // 2),
        extra.pop("cpu", seconds),
        process or seconds + 1,
        corpus=corpus,
        **extra,
    )


def test_targets_are_judged_on_the_corpus_and_backend_they_are_stated_for():
    steps = {"validate_and_load": 10.0, "steward_overview": 2.0, "correction_workbooks": 3.0}
    measures = [
        _measure("floor", "sqlite", "bad-year", 3.0, 4.0),
        _measure("crpv", "sqlite", "bad-year", 11.0, 11.0),  # 2.75× the floor: met
        _measure("dagster", "sqlite", "bad-year", 9.0, stages=steps),  # 0.5×: met
        _measure("floor", "postgresql", "bad-year", 3.0, 4.0),
        _measure("crpv", "postgresql", "bad-year", 100.0, 100.0, stopped=True),
        _measure("dagster", "postgresql", "bad-year", 100.0, 100.0, stopped=True),
        _measure("floor", "sqlite", "large", 10.0),
        _measure("warehouse", "sqlite", "large", 16.0),  # 1.6×: not met (≤ 1.5× on SQLite)
        _measure("floor", "postgresql", "large", 10.0),
        _measure("warehouse", "postgresql", "large", 19.0, cpu=40.0),  # 1.9×, 2 cores: met
    ]
    results = Results(Plan(), measures, {}, [], datetime.datetime.now(datetime.UTC), 1.0)
    verdicts = {(r.target, r.label[:20], r.backend): r.verdict for r in issue_18(results)}
    assert verdicts[("1", "`crpv run --year`, e", "sqlite")] == "met"
    assert verdicts[("1", "`crpv run --year`, e", "postgresql")] == (
        "**not met** (a run stopped after 100 s)"
    )
    assert verdicts[("1", "steward overview + c", "sqlite")] == "met"
    assert verdicts[("1", "steward overview + c", "postgresql")] == (
        "not measured (a run stopped after 100 s)"
    )
    assert verdicts[("3, 4", "whole pipeline (read", "sqlite")] == "**not met**"
    assert verdicts[("3, 4", "whole pipeline (read", "postgresql")] == "met"
    assert verdicts[("3", "cores used by the wh", "postgresql")] == "met"
    assert verdicts[("3", "cores used by the wh", "sqlite")] == "shown (stated for postgresql)"
    assert verdicts[("2", "`crpv run --year`, e", "sqlite")] == "not measured"
