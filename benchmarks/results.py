"""What one benchmark run measures and what it measured: the plan and the results.

Belongs here: which corpus stands for each role of the benchmark (``Plan``: the scale corpus of
issue 6, the clean and the bad year, the real-size year re-run) and which contenders race on
it; every measure of the run (``Results``), looked up by corpus, contender and backend.

Stays out: running anything (``harness``), judging (``targets``), writing (``report``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from benchmarks.children import CLI, Measure
from benchmarks.corpus import SPECS, CorpusSpec

CONTENDERS = ("naive", "floor", "stages", "warehouse", "dagster", CLI)
RACED = {
    "scale": ("naive", "floor", "stages", "warehouse", "dagster"),
    "year": ("floor", "dagster", CLI),
    "bad-year": ("floor", "dagster", CLI),
}
"""The contenders raced on the corpus of each role (the re-run role races none: it is re-run)."""
STATED = {"scale": "large", "year": "clean-year", "bad-year": "bad-year", "re-run": "network"}
"""The corpus each role's targets are stated for; any other corpus in the role stands in for
it (a quick look, the smoke test), and its figures are shown, not judged."""


@dataclass(frozen=True)
class Plan:
    """Which corpus plays each role of the benchmark (None: the role is left out).

    ``scale``: every contender, the targets of issue 6 and targets 3 and 4 of issue 18, and
    re-runs; ``year``: target 2; ``bad_year``: target 1; ``rerun``: target 5. One corpus may
    play several roles (the smoke test's tiny corpus does): it is raced once, by every
    contender its roles call for, and re-run once.
    """

    scale: CorpusSpec | None = SPECS["large"]
    year: CorpusSpec | None = SPECS["clean-year"]
    bad_year: CorpusSpec | None = SPECS["bad-year"]
    rerun: CorpusSpec | None = SPECS["network"]

    def roles(self) -> dict[str, CorpusSpec]:
        played = {
            "scale": self.scale,
            "year": self.year,
            "bad-year": self.bad_year,
            "re-run": self.rerun,
        }
        return {role: spec for role, spec in played.items() if spec is not None}

    def races(self, contenders: tuple[str, ...] = CONTENDERS) -> list[tuple[CorpusSpec, list]]:
        """Each corpus raced, once, with the contenders its roles call for (of ``contenders``)."""
        races: dict[str, tuple[CorpusSpec, list[str]]] = {}
        for role, spec in self.roles().items():
            _, names = races.setdefault(spec.name, (spec, []))
            names += [c for c in RACED.get(role, ()) if c not in names and c in contenders]
        ordered = [(spec, [c for c in CONTENDERS if c in names]) for spec, names in races.values()]
        return [(spec, names) for spec, names in ordered if names]

    def reruns(self) -> list[CorpusSpec]:
        """The corpora re-run: the re-run role's, then the scale corpus's, once each."""
        specs = {s.name: s for s in (self.rerun, self.scale) if s is not None}
        return list(specs.values())

    @classmethod
    def of(cls, names: list[str]) -> Plan:
        """The plan of the corpora named, each in its own role (``CorpusSpec.role``)."""
        roles: dict[str, CorpusSpec] = {}
        for name in names:
            spec = SPECS[name]
            if spec.role in roles:
                raise ValueError(f"{roles[spec.role].name} and {name} both play {spec.role}")
            roles[spec.role] = spec
        return cls(
            roles.get("scale"), roles.get("year"), roles.get("bad-year"), roles.get("re-run")
        )


@dataclass
class Results:
    """Every measure of one run of the benchmark."""

    plan: Plan
    measures: list[Measure]
    validate_cli: dict[str, float]
    reruns: list[dict]
    started: dt.datetime
    seconds: float
    stop_after: float = 0.0
    """A run of the pipeline was stopped once it took this many times the floor (0: never)."""

    def get(self, contender: str, backend: str, corpus: str | None = None) -> Measure | None:
        """The measure of ``contender`` on ``backend`` (on the scale corpus unless named)."""
        if corpus is None:
            corpus = self.plan.scale.name if self.plan.scale else ""
        return next(
            (
                m
                for m in self.measures
                if m.contender == contender and m.backend == backend and m.corpus == corpus
            ),
            None,
        )

    @property
    def backends(self) -> list[str]:
        found = [m.backend for m in self.measures] + [r["backend"] for r in self.reruns]
        return list(dict.fromkeys(found))
