"""``benchmarks/RESULTS.md``: one run's figures, targets first, then every measure.

Belongs here: the page — the machine and software, the corpora and their shape, the targets of
issue 18 in one table (target, corpus, backend, measured, goal, verdict), those of issue 6, the
re-runs, every contender on every corpus, stage by stage — with the hand-written profiles
(``PROFILES.md``) appended.

Stays out: measuring, and what each target compares (``targets``).
"""

from __future__ import annotations

import os
import platform
import sqlite3
from collections import Counter
from importlib import metadata
from pathlib import Path

from benchmarks import bad_year
from benchmarks.children import CLI
from benchmarks.corpus import CorpusSpec
from benchmarks.results import Results
from benchmarks.targets import GIB, MET, NOT_MET, issue_6, issue_18, outputs_text

PROFILES = Path(__file__).resolve().parent / "PROFILES.md"
"""What the profiles showed and what was changed: written by hand, appended to RESULTS.md."""

LABELS = {
    "naive": "naive: `read_excel` (openpyxl) + `to_sql`",
    "floor": "floor: calamine + one bulk insert",
    "stages": "pipeline functions, one process",
    "warehouse": "whole pipeline, read → derive, through Dagster",
    "dagster": "every asset through Dagster (+ workbooks, overview, bilan)",
    CLI: "`crpv run --year`, the whole process as a user runs it",
}


def _versions() -> str:
    names = ("dagster", "pandas", "pandera", "python-calamine", "SQLAlchemy", "psycopg", "openpyxl")
    return ", ".join(f"{n} {metadata.version(n)}" for n in names)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory() -> str:
    import psutil

    return f"{psutil.virtual_memory().total / GIB:.0f} GiB"


def _pg_version(url: str) -> str:
    try:
        import sqlalchemy as sa

        engine = sa.create_engine(url)
        with engine.connect() as conn:
            version = conn.exec_driver_sql("SHOW server_version").scalar()
        engine.dispose()
        return f"PostgreSQL {version}"
    except Exception as err:  # the report says so rather than failing at the very end
        return f"PostgreSQL (unreachable: {type(err).__name__})"


def _shape(spec: CorpusSpec) -> str:
    """What the returns of a corpus are like."""
    kinds = Counter(bad_year.return_kind(i, spec) for i in range(spec.centres))
    every = spec.files_with_mistakes_every
    few = f"one ordinary return in {every} carries 5 row errors and 5 warnings"
    if not spec.many_findings and not spec.rejected:
        return few
    rejected = [k for k in bad_year.REJECTIONS if kinds[k]]
    parts = [
        f"{kinds[bad_year.MANY]} returns full of findings (about a third of their rows each:"
        " weekend dates, participants > 500, half-days > 20, duplicates, row errors that"
        " quarantine the row; two extra columns)",
        f"{kinds[bad_year.ORDINARY]} ordinary ({few})",
    ]
    if rejected:
        parts.append(f"{sum(kinds[k] for k in rejected)} rejected ({', '.join(rejected)})")
    return "; ".join(parts)


def _corpus_lines(results: Results) -> list[str]:
    lines = []
    roles: dict[str, list[str]] = {}
    for role, spec in results.plan.roles().items():
        roles.setdefault(spec.name, []).append(role)
    specs = {s.name: s for s in results.plan.roles().values()}
    for name, played in roles.items():
        spec = specs[name]
        left = next(
            (
                m.counts
                for c in ("dagster", CLI)
                for m in results.measures
                if m.corpus == name and m.contender == c and "findings" in m.counts
            ),
            None,
        )
        found = (
            f"; a run records {left['findings']:,} findings and rejects {left['rejected']}"
            f" returns, and loads {left['rows']:,} activities"
            if left
            else ""
        )
        lines.append(
            f"- **Corpus** `{name}` ({', '.join(played)}): {spec.centres} returns ×"
            f" {spec.rows_per_return:,} rows = {spec.rows:,} activity rows for {spec.year}, real"
            f" `.xlsx` files; {_shape(spec)}{found}"
        )
    return lines


def _targets_18(results: Results) -> list[str]:
    rows = issue_18(results)
    judged = [r for r in rows if r.verdict in (MET, NOT_MET)]
    met = sum(r.verdict == MET for r in judged)
    lines = [
        "## Targets of issue 18 (fast on every path)",
        "",
        "Every corpus and backend of this one run. Two times are measured. *Work alone*: from the"
        " contender's first call to its return, inside its child process (Python's start-up and"
        " the imports excluded), as issue 6 measured. *Whole process*: the wall time of the whole"
        " child process, start-up and imports included — for `crpv run --year`, the console"
        " script as a user runs it, from its start to its exit (the national summary it prints"
        " included); for the floor, `python -m benchmarks.contenders floor`, from its start"
        " (Python, the imports of python-calamine and SQLAlchemy, its table created) to its exit."
        " Targets 1 and 2 compare whole process with whole process; 3, 4 and 5 the work alone"
        " (the re-run's whole-process ratio is shown beside it). Step times are Dagster's, from"
        " the in-process run of every asset on the same corpus and backend. A target is judged"
        " on the corpus and backend it is stated for; elsewhere its figure is shown.",
        "",
        *(
            [
                f"A run of the pipeline still running after {results.stop_after:g} times the"
                " floor's whole process on its corpus and backend (and at least a minute) is"
                " stopped and not repeated: its figure is then a lower bound (≥); a goal it"
                " misses is missed, one it would meet is not measured.",
                "",
            ]
            if results.stop_after
            else []
        ),
        f"**{met} of {len(judged)} targets judged here are met.**"
        if judged
        else "**No target is judged here: these corpora stand in for those the targets are stated"
        " for.**",
        "",
        "| # | target | corpus | backend | measured | goal | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.target} | {r.label} | {r.corpus} | {r.backend} | {r.measured} | {r.goal} |"
            f" {r.verdict} |"
        )
    return lines


def _targets_6(results: Results) -> list[str]:
    rows = issue_6(results)
    if not rows:
        return []
    backends = results.backends
    lines = [
        "",
        "## Targets of issue 6 (kept for comparison)",
        "",
        "Stated for the `large` corpus, on SQLite, the embedded default (PostgreSQL beside it):"
        " judged there only; the work alone, as above.",
        "",
        "| target | " + " | ".join(backends) + " | goal | on SQLite |",
        "|---|" + "---|" * len(backends) + "---|---|",
    ]
    for label, values, goal, verdict in rows:
        lines.append(f"| {label} | " + " | ".join(values) + f" | {goal} | {verdict} |")
    cli = results.validate_cli
    if cli:
        lines += [
            "",
            f"`crpv validate` took {cli['validate']:.2f} s against {cli['imports']:.2f} s for"
            ' `python -c "import pandas, pandera.pandas, python_calamine"` (medians of whole'
            " processes).",
        ]
    return lines


def _reruns(results: Results) -> list[str]:
    if not results.reruns:
        return []
    lines = [
        "",
        "## Re-runs",
        "",
        "Every asset through Dagster, each run in a fresh process, on one warehouse and one output"
        " folder. Work alone, and whole processes. Outputs: the files of the output folder (bilan,"
        " stewards' overview, correction workbooks) before and after the re-run — untouched (same"
        " SHA-256, modification time and inode), or rewritten (with the same bytes or others),"
        " new, removed — and the files each re-run did not leave untouched.",
        "",
        "| corpus | backend | changed | first run (s) | re-run (s) | re-run ÷ first |"
        " whole processes (s) | ÷ | outputs | re-run by step (s) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in results.reruns:
        steps = ", ".join(f"{k} {v:.2f}" for k, v in r["rerun_steps"].items())
        lines.append(
            f"| `{r['corpus']}` ({r['returns']} × {r['rows_per_return']:,}) | {r['backend']} |"
            f" {r['changed']} | {r['first']:.2f} | {r['rerun']:.2f} | {r['ratio']:.2f}× |"
            f" {r['first_process']:.1f} → {r['rerun_process']:.1f} | {r['process_ratio']:.2f}× |"
            f" {outputs_text(r['outputs'])} | {steps} |"
        )
    lines += ["", "Outputs not left untouched:", ""]
    for r in results.reruns:
        names = [f"`{name}` ({fate})" for name, fate in r["rewritten"].items()]
        shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
        lines.append(
            f"- `{r['corpus']}`, {r['backend']}, {r['changed']} changed: {shown or 'none'}"
        )
    return lines


def _contenders(results: Results) -> list[str]:
    lines = [
        "",
        "## Every contender, corpus by corpus",
        "",
        "Work and whole process as above (for `crpv run`, both are the whole process); peak"
        " memory is the RSS of the child and all its processes; cores = CPU time ÷ wall time of"
        " the whole child process. A contender that ran several times shows its median run (by"
        " work) and every run's work.",
    ]
    for spec, _ in results.plan.races():
        measures = [m for m in results.measures if m.corpus == spec.name]
        if not measures:
            continue
        lines += [
            "",
            f"### `{spec.name}` ({spec.rows:,} rows)",
            "",
            "| contender | backend | work (s) | whole process (s) | rows written | rows/s |"
            " peak RSS (MiB) | cores | runs (s) |",
            "|---|---|---:|---:|---:|---:|---:|---:|---|",
        ]
        for m in measures:
            runs = " / ".join(f"{t:.2f}" for t in m.runs) or "1 run"
            lines.append(
                f"| {LABELS[m.contender]} | {m.backend} | {m.seconds:.2f} |"
                f" {m.process_seconds:.2f} | {m.rows:,} | {m.rows_per_second:,.0f} |"
                f" {m.peak_rss_bytes / 2**20:,.0f} | {m.cores_used:.2f} | {runs} |"
            )
        staged = [m for m in measures if m.stages]
        if staged:
            lines += ["", "Stage by stage (seconds):", ""]
            for m in staged:
                parts = ", ".join(f"{k} {v:.2f}" for k, v in m.stages.items())
                lines.append(f"- {LABELS[m.contender]}, {m.backend}: {parts}")
    return lines


def render(results: Results, pg_admin_url: str) -> str:
    """``RESULTS.md``: the machine, the targets with their measured figures, every measure."""
    lines = [
        "# Benchmark results",
        "",
        "Written by `python3 dev.py bench` (`benchmarks/harness.py`); every figure below comes",
        "from the one run described here, each contender in a fresh process on the same files,",
        "a fresh warehouse and a fresh output folder.",
        "",
        f"- **Run**: {results.started:%Y-%m-%d %H:%M} UTC, {results.seconds / 60:.1f} min in all"
        " (corpora written included)",
        f"- **Machine**: {_cpu_model()}, {os.cpu_count()} cores, {_memory()},"
        f" {platform.system()} {platform.release()}",
        f"- **Software**: Python {platform.python_version()}, SQLite {sqlite3.sqlite_version},"
        f" {_pg_version(pg_admin_url) if 'postgresql' in results.backends else 'no PostgreSQL'};"
        f" {_versions()}",
        *_corpus_lines(results),
        "",
        *_targets_18(results),
        *_targets_6(results),
        *_reruns(results),
        *_contenders(results),
    ]
    if PROFILES.is_file():
        lines += ["", PROFILES.read_text(encoding="utf-8").strip()]
    return "\n".join(lines) + "\n"
