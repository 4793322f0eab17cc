"""Worker processes that read returns side by side: the pool, its fork server, its read budget.

Belongs here: how many processes (``CRPV_WORKERS``), how many bytes of returns they may hold at
once (``CRPV_READ_BUDGET_MB``), the fork server they start from and the settings each job
carries. Stays out: what a job does (``year.validate``, ``year.outputs``).
"""

from __future__ import annotations

import gc
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import ExitStack
from multiprocessing import forkserver
from typing import Any

from crpv_pipeline.settings import read_budget, use_worker_settings, worker_settings

PARALLEL_MIN_BYTES = 2 * 1024 * 1024
"""Below this many bytes of returns to read, one process reads them all: starting worker
processes (about a second: each imports pandas and Pandera) would cost more than it saves.
Measured on a re-run in which 12 of 200 returns of 5 000 rows changed (3.4 MB to read): 5.0 s
for the step with workers, 5.6 s without; a year of 17 returns of 200 rows holds 0.3 MB."""


def in_processes(
    stack: ExitStack,
    function: Callable[[Any], Any],
    jobs: Sequence[Any],
    workers: int,
    sizes: Sequence[int],
    costs: Sequence[int] | None = None,
) -> Iterator[Any] | None:
    """``map(function, jobs)`` by ``workers`` processes, started now and closed with ``stack``.

    None when one process should do the work itself: fewer than two workers or jobs, or less
    than ``PARALLEL_MIN_BYTES`` in all of the files the jobs read (``sizes``). A job is given to
    the workers only while the ``costs`` (inflated bytes each job reads, default ``sizes``) of
    the jobs given and whose results were not taken yet stay within ``read_budget()``.
    """
    if workers < 2 or len(jobs) < 2 or sum(sizes) < PARALLEL_MIN_BYTES:
        return None
    budget = read_budget()
    pool = ProcessPoolExecutor(
        min(workers, len(jobs)), mp_context=_worker_context(), initializer=_worker_started
    )
    # On an error (a load that fails), the jobs not started are dropped, not waited for.
    stack.callback(pool.shutdown, wait=True, cancel_futures=True)
    settings = worker_settings()
    calls = [(function, job, settings) for job in jobs]
    return _within_budget(pool, calls, costs if costs is not None else sizes, budget)


def _within_budget(
    pool: ProcessPoolExecutor, calls: Sequence[Any], costs: Sequence[int], budget: int
) -> Iterator[Any]:
    """The results of ``_call(call)`` in order, calls submitted while their costs fit ``budget``.

    The first calls are submitted now; each further one as soon as the results taken free
    enough of the budget. A call counts from its submission until its result is taken, so the
    returns the workers read at once never cost more than ``budget`` together (a call that costs
    more than the whole budget is submitted alone).
    """
    in_flight: deque[tuple[Future, int]] = deque()
    waiting = deque(zip(calls, costs, strict=True))
    spent = 0

    def submit() -> None:
        nonlocal spent
        while waiting and (not in_flight or spent + waiting[0][1] <= budget):
            call, cost = waiting.popleft()
            in_flight.append((pool.submit(_call, call), cost))
            spent += cost

    def results() -> Iterator[Any]:
        nonlocal spent
        while in_flight:
            future, cost = in_flight.popleft()
            result = future.result()
            spent -= cost
            submit()
            yield result

    submit()
    return results()


def _worker_context() -> multiprocessing.context.BaseContext:
    """How worker processes start: forked from the fork server, else afresh (Windows)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(_WORKER_MODULES))
    return context


def start_worker_server(to_read: int, workers: int) -> None:
    """Start the fork server now when reading ``to_read`` bytes of returns may call for workers.

    The server imports pandas and Pandera (about a second, on a core of its own) while the run
    starts Dagster's instance, checks the warehouse and finds the returns it already knows,
    instead of when the first worker is needed. One not needed in the end (every return
    known) costs that second of the other core. Called as soon as the inbox is known: by
    ``runs.materialize_year`` before Dagster starts, and when the inbox is listed.
    """
    if workers < 2 or to_read < PARALLEL_MIN_BYTES:
        return
    if _worker_context().get_start_method() == "forkserver":  # its preload set: start it
        forkserver.ensure_running()


_WORKER_MODULES = ("crpv_pipeline.year.validate", "crpv_pipeline.year.outputs")
"""Imported once by the fork server that worker processes start from (``forkserver``: a
single-threaded process, safe to fork, unlike a Dagster step with its threads), so that a
worker starts in milliseconds instead of importing pandas and Pandera for a second: the
modules holding the workers' jobs, and with them validation, corrections and loading."""


def _worker_started() -> None:
    """Leave what the imports created out of the garbage collector's scans (3 % of the work)."""
    gc.freeze()


def _call(call: tuple[Callable[[Any], Any], Any, Mapping[str, str | None]]) -> Any:
    """``function(job)`` in a worker, with the settings of the process that sent the job."""
    function, job, settings = call
    use_worker_settings(settings)
    return function(job)
