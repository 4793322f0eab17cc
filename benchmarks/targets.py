"""The targets of issues 6 and 18, judged from one run's measures.

Belongs here: what each target compares (which contender, which time: the work alone or the
whole process), its goal, the corpus and backends it is stated for, and the verdict: met, not
met, or shown only — on a backend the target is not stated for, or on a corpus that stands in
for the one it is stated for (a quick look, the smoke test).

Stays out: measuring (``harness``, ``children``, ``reruns``) and the page's layout (``report``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from benchmarks.children import CLI, Measure
from benchmarks.results import STATED, Results

GIB = 1024**3
MET, NOT_MET, UNMEASURED = "met", "**not met**", "not measured"
WORKBOOK_STEPS = ("steward_overview", "correction_workbooks")
"""The steps that write the stewards' workbooks, set against ``validate_and_load`` (target 1)."""


@dataclass(frozen=True)
class Row:
    """One line of the targets table: one target, on one corpus and backend."""

    target: str
    label: str
    corpus: str
    backend: str
    measured: str
    goal: str
    verdict: str


def ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}×"


def _over(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _halted(*measures: Measure | None) -> Measure | None:
    """The measure, of those, that was stopped at its time limit (if any)."""
    return next((m for m in measures if m and m.stopped), None)


def _text(text: str, *measures: Measure | None) -> str:
    """``text``, said to be a lower bound when one of ``measures`` was stopped."""
    halted = _halted(*measures)
    return f"≥ {text} (stopped after {halted.process_seconds:.0f} s)" if halted else text


def _process_ratio(top: Measure | None, floor: Measure | None) -> tuple[float | None, str]:
    """Whole process ÷ whole process, and the seconds it divides."""
    if not top or not floor:
        return None, "—"
    value = top.process_seconds / floor.process_seconds
    text = f"{value:.2f}× ({top.process_seconds:.1f} s ÷ {floor.process_seconds:.1f} s)"
    return value, _text(text, top)


class _Judge:
    """Builds the rows of one role's targets: measured on its corpus, judged where stated."""

    def __init__(self, results: Results, role: str):
        self.results = results
        self.spec = results.plan.roles().get(role)
        self.stated = STATED[role]
        self.rows: list[Row] = []

    def get(self, contender: str, backend: str) -> Measure | None:
        return self.results.get(contender, backend, self.spec.name) if self.spec else None

    def add(
        self,
        target: str,
        label: str,
        backend: str,
        value: float | None,
        measured: str,
        goals: dict[str, tuple[str, Callable[[float], bool]]],
        halted: Measure | None = None,
    ) -> None:
        """A row; ``goals`` gives, for each backend the target is stated for, its goal and test.

        ``halted``: a run the value comes from was stopped at its time limit, so that the value
        is a lower bound: a goal it misses is missed, one it meets is not known to be met.
        """
        stated = goals.get(backend)
        stop = f" (a run stopped after {halted.process_seconds:.0f} s)" if halted else ""
        if stated is None:
            goal = "; ".join(f"{g} on {b}" for b, (g, _) in goals.items())
            verdict = f"shown (stated for {', '.join(goals)})"
        elif value is None:
            goal, verdict = stated[0], UNMEASURED + stop
        elif self.spec.name != self.stated:
            goal, verdict = stated[0], f"shown (stands in for `{self.stated}`)"
        elif halted:
            goal, verdict = stated[0], UNMEASURED + stop if stated[1](value) else NOT_MET + stop
        else:
            goal, verdict = stated[0], MET if stated[1](value) else NOT_MET
        corpus = f"`{self.spec.name}`"
        self.rows.append(Row(target, label, corpus, backend, measured, goal, verdict))


def _cli_vs_floor(judge: _Judge, target: str, backends: list[str]) -> None:
    """Targets 1 and 2: `crpv run --year`, whole process, ≤ 3× the floor's whole process."""
    for backend in backends:
        cli = judge.get(CLI, backend)
        value, text = _process_ratio(cli, judge.get("floor", backend))
        judge.add(
            target,
            "`crpv run --year`, every asset, whole process ÷ floor, whole process",
            backend,
            value,
            text,
            {b: ("≤ 3×", lambda v: v <= 3.0) for b in backends},
            _halted(cli),
        )


def _bad_year(results: Results, backends: list[str]) -> list[Row]:
    judge = _Judge(results, "bad-year")
    if not judge.spec:
        return []
    _cli_vs_floor(judge, "1", backends)
    for backend in backends:
        every_asset = judge.get("dagster", backend)
        steps = every_asset.stages if every_asset else {}
        workbooks = [steps.get(step) for step in WORKBOOK_STEPS]
        load = steps.get("validate_and_load")
        value = None if None in workbooks or not load else sum(workbooks) / load
        text = (
            f"{value:.2f}× ({' + '.join(f'{w:.1f} s' for w in workbooks)} ÷ {load:.1f} s)"
            if value is not None
            else "—"
        )
        judge.add(
            "1",
            "steward overview + correction workbooks ÷ `validate_and_load` (step times)",
            backend,
            value,
            text,
            {b: ("< 1×", lambda v: v < 1.0) for b in backends},
            _halted(every_asset),
        )
    return judge.rows


def _clean_year(results: Results, backends: list[str]) -> list[Row]:
    judge = _Judge(results, "year")
    if judge.spec:
        _cli_vs_floor(judge, "2", backends)
    return judge.rows


def _pipeline_runs(judge: _Judge, backend: str) -> list[Measure]:
    return [m for c in ("warehouse", "dagster", CLI) if (m := judge.get(c, backend))]


def _scale(results: Results, backends: list[str]) -> list[Row]:
    judge = _Judge(results, "scale")
    if not judge.spec:
        return []

    def work_ratio(contender: str, backend: str) -> tuple[float | None, str, Measure | None]:
        top, floor = judge.get(contender, backend), judge.get("floor", backend)
        value = _over(top and top.seconds, floor and floor.seconds)
        return value, _text(ratio(value), top), _halted(top)

    for backend in backends:
        value, text, halted = work_ratio("warehouse", backend)
        judge.add(
            "3, 4",
            "whole pipeline (read → derive, Dagster in process) ÷ floor, work alone",
            backend,
            value,
            text,
            {"sqlite": ("≤ 1.5×", lambda v: v <= 1.5), "postgresql": ("≤ 2×", lambda v: v <= 2.0)},
            halted,
        )
    for backend in backends:
        pipeline = judge.get("warehouse", backend)
        value = pipeline.cores_used if pipeline and not pipeline.stopped else None
        judge.add(
            "3",
            "cores used by the whole pipeline (CPU ÷ wall of its process tree)",
            backend,
            value,
            "—" if value is None else f"{value:.2f}",
            {"postgresql": ("≥ 1.5", lambda v: v >= 1.5)},
            _halted(pipeline),
        )
    for backend in backends:
        value, text, halted = work_ratio("dagster", backend)
        judge.add(
            "4",
            "every asset (+ workbooks, overview, bilan; in process) ÷ floor, work alone",
            backend,
            value,
            text,
            {"sqlite": ("≤ 2×", lambda v: v <= 2.0)},
            halted,
        )
    for backend in backends:
        runs = _pipeline_runs(judge, backend)
        peak = max((m.peak_rss_bytes for m in runs), default=None)
        judge.add(
            "4",
            "peak memory of a pipeline run, its whole process tree",
            backend,
            peak,
            _text("—" if peak is None else f"{peak / GIB:.2f} GiB", *runs),
            {"sqlite": ("≤ 1.5 GiB", lambda v: v <= 1.5 * GIB)},
            _halted(*runs),
        )
    return judge.rows


def outputs_text(fates: dict[str, int]) -> str:
    """« 3 of 20 untouched; rewritten: 17 with the same bytes, … »."""
    total = sum(v for k, v in fates.items() if k != "removed")
    rewritten = ", ".join(
        f"{fates[k]} {k}" for k in ("same bytes", "other bytes", "new", "removed") if fates[k]
    )
    return f"{fates['untouched']} of {total} untouched" + (f"; {rewritten}" if rewritten else "")


def _rerun(results: Results, backends: list[str]) -> list[Row]:
    judge = _Judge(results, "re-run")
    if not judge.spec:
        return []
    quiet = {
        r["backend"]: r
        for r in results.reruns
        if r["corpus"] == judge.spec.name and r["changed"] == 0
    }
    for backend in backends:
        r = quiet.get(backend)
        text = f"{r['ratio']:.2f}× (whole processes: {r['process_ratio']:.2f}×)" if r else "—"
        judge.add(
            "5",
            "re-run, nothing changed ÷ first run, work alone (Dagster in process)",
            backend,
            r and r["ratio"],
            text,
            {b: ("≤ 0.5×", lambda v: v <= 0.5) for b in backends},
        )
    for backend in backends:
        r = quiet.get(backend)
        fates = r["outputs"] if r else None
        untouched = None
        if fates:  # the share of outputs left untouched (none at all would be 0)
            total = sum(fates.values())
            untouched = fates["untouched"] / total if total else 0.0
        judge.add(
            "5",
            "outputs left untouched by that re-run (SHA-256, modification time, inode)",
            backend,
            untouched,
            outputs_text(fates) if fates else "—",
            {b: ("all untouched", lambda v: v == 1.0) for b in backends},
        )
    return judge.rows


def issue_18(results: Results) -> list[Row]:
    """Every target of issue 18, on each backend measured."""
    backends = results.backends
    return [
        *_bad_year(results, backends),
        *_clean_year(results, backends),
        *_scale(results, backends),
        *_rerun(results, backends),
    ]


ISSUE_6 = {
    "pipeline_vs_floor": 2.0,
    "naive_vs_pipeline": 3.0,
    "peak_rss_bytes": 1.5 * GIB,
    "validate_vs_imports": 1.3,
    "rerun_vs_first": 0.25,
}


def issue_6(results: Results) -> list[tuple[str, list[str], str, str]]:
    """The targets of issue 6: (target, figure on each backend, goal, verdict on SQLite).

    Stated for the ``large`` corpus and judged there on SQLite only, as issue 6 states them;
    ``crpv validate`` wherever it is measured.
    """
    backends = results.backends
    judge = _Judge(results, "scale")
    if not judge.spec:
        return []
    judged = judge.spec.name == judge.stated
    halted = _halted(*_pipeline_runs(judge, "sqlite"))
    rows = []

    def row(label, values: dict[str, float | None], text, goal, test, raced=True) -> None:
        value = values.get("sqlite")
        verdict = (
            "—"
            if not judged or test is None or value is None
            else (MET if test(value) else NOT_MET)
        )
        if raced and halted and verdict == MET:  # a stopped run's figure is a bound, no more
            verdict = f"{UNMEASURED} (a run stopped after {halted.process_seconds:.0f} s)"
        rows.append((label, [text(values.get(b)) for b in backends], goal, verdict))

    def seconds(contender: str, backend: str) -> float | None:
        m = judge.get(contender, backend)
        return m.seconds if m else None

    def ratios(top: str, bottom: str) -> dict[str, float | None]:
        return {b: _over(seconds(top, b), seconds(bottom, b)) for b in backends}

    row(
        "whole pipeline (read → derive, Dagster) ÷ floor",
        ratios("warehouse", "floor"),
        ratio,
        "≤ 2×",
        lambda v: v <= ISSUE_6["pipeline_vs_floor"],
    )
    row(
        "naive script ÷ whole pipeline",
        ratios("naive", "warehouse"),
        ratio,
        "≥ 3×",
        lambda v: v >= ISSUE_6["naive_vs_pipeline"],
    )
    row(
        "peak memory of a pipeline run",
        {
            b: max((m.peak_rss_bytes for m in _pipeline_runs(judge, b)), default=None)
            for b in backends
        },
        lambda v: "—" if v is None else f"{v / GIB:.2f} GiB",
        "≤ 1.5 GiB",
        lambda v: v <= ISSUE_6["peak_rss_bytes"],
    )
    cores = {b: (m.cores_used if (m := judge.get("warehouse", b)) else None) for b in backends}
    row(
        "cores used by the whole pipeline (CPU ÷ wall)",
        cores,
        lambda v: "—" if v is None else f"{v:.2f}",
        "both, where the work allows",
        lambda v: v > 1.2,
    )
    cli = results.validate_cli
    if cli:
        value = cli["ratio"]
        verdict = MET if value <= ISSUE_6["validate_vs_imports"] else NOT_MET
        rows.append(
            (
                "`crpv validate` (300 rows) ÷ bare imports (no warehouse)",
                [ratio(value)] * len(backends),
                "≤ 1.3×",
                verdict,
            )
        )
    scale_reruns = [r for r in results.reruns if r["corpus"] == judge.spec.name]
    for changed in dict.fromkeys(r["changed"] for r in scale_reruns):
        group = {r["backend"]: r for r in scale_reruns if r["changed"] == changed}
        first = next(iter(group.values()))
        size = f"{first['returns']} returns of {first['rows_per_return']:,} rows"
        what = f"{changed or 'none'} of {size}"
        row(
            f"re-run, {what} changed ÷ first run",
            {b: group[b]["ratio"] if b in group else None for b in backends},
            ratio,
            "≤ 0.25×" if changed else "(shown: what any run costs)",
            (lambda v: v <= ISSUE_6["rerun_vs_first"]) if changed else None,
            raced=False,
        )
    return rows
