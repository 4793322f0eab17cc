"""Smoke test of the benchmark harness on a tiny corpus, so that it cannot rot.

It checks that every contender runs and writes what it should and that RESULTS.md carries every
target with a measured figure; it asserts no speed (speed is measured by the full run, in the
README, never by a timed test).
"""

import re

import pytest

from benchmarks.corpus import SPECS, build_corpus
from benchmarks.harness import CONTENDERS, render, rerun_changes, run_benchmark

TINY = SPECS["tiny"]
TARGET_LINES = (
    "whole pipeline (read → derive, Dagster) ÷ floor",
    "every asset (+ correction workbooks, bilan) ÷ floor",
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


POSTGRES = pytest.param("postgresql", marks=pytest.mark.postgres)


@pytest.mark.parametrize("backend", ["sqlite", POSTGRES])
def test_the_harness_measures_every_contender_and_target(backend, tmp_path, request):
    admin_url = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    if backend == "postgresql":
        engine = request.getfixturevalue("pg_admin_engine")  # skips, or fails under CI
        admin_url = engine.url.render_as_string(hide_password=False)
    results = run_benchmark(
        TINY,
        backends=(backend,),
        corpora=tmp_path / "corpora",
        rerun_specs=(TINY,),
        validate_repeats=1,
        pg_admin_url=admin_url,
        progress=lambda _: None,
        repeats=2 if backend == "sqlite" else 1,
    )
    rows = {m.contender: m.rows for m in results.measures}
    # The naive script and the floor write every row; the pipeline quarantines the 5 rows with
    # an error in each of the 2 spoiled returns (the corpus is the same every time).
    assert rows == {"naive": 120, "floor": 120, "stages": 110, "warehouse": 110, "dagster": 110}
    assert all(m.seconds > 0 and m.peak_rss_bytes > 0 for m in results.measures)
    if backend == "sqlite":  # the median of two runs, with both; naive and stages run once
        assert [len(results.get(c, backend).runs) for c in CONTENDERS] == [0, 2, 0, 2, 2]
    assert set(results.get("stages", backend).stages) == {
        "read",
        "normalise",
        "validate",
        "load",
        "derive",
    }
    assert "bilan_report" not in results.get("warehouse", backend).stages
    assert {"validate_and_load", "derived_tables"} <= set(results.get("dagster", backend).stages)
    # Re-runs after no return changed, then one: 4 returns are too few for one in 17.
    reruns = [(r["backend"], r["corpus"], r["changed"]) for r in results.reruns]
    assert reruns == [(backend, "tiny", 0), (backend, "tiny", 1)]
    assert all(r["ratio"] > 0 for r in results.reruns)
    assert rerun_changes(17) == (0, 1) and rerun_changes(200) == (0, 1, 12)

    text = render(results, admin_url)
    for label in TARGET_LINES:
        (line,) = [line for line in text.splitlines() if line.startswith(f"| {label}")]
        assert re.search(r"\d+\.\d\d", line), line
    assert sum(line.startswith("| ") for line in text.splitlines()) >= len(CONTENDERS) + 6
