"""Seconds spent per stage of the work on a return (read, normalise, validate, load).

Belongs here: a small accumulator that code wraps around each stage, so that a run can say
where its time went (asset metadata, ``benchmarks/``). Stays out: any decision of the pipeline.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager


class StageTimer:
    """Seconds per stage, summed over every ``with timer.stage(name):`` block."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start


def add_seconds(parts: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """Stage seconds of several returns added up, stage by stage."""
    total: dict[str, float] = {}
    for part in parts:
        for name, seconds in part.items():
            total[name] = total.get(name, 0.0) + seconds
    return total
