"""One year of the pipeline as plain functions: find the returns, validate them, load, derive.

The Dagster assets call these functions stage by stage; tests and benchmarks call them directly.
This module decides the cross-file rules (two files for one centre) and the order of work: files
the warehouse already knows by SHA-256 are not read again (``incremental``), worker processes
read the others side by side while each validated return is loaded (``validate_and_load_year``),
and a file that changed after it was read is left for the next run. The rules of a single file
live in ``validation``, the SQL in ``warehouse``, ``loading`` and ``sql/``.
"""

from __future__ import annotations

import datetime as dt
import gc
import multiprocessing
import os
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, replace
from functools import cache
from multiprocessing import forkserver
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from crpv_pipeline.atomic import remove_leftovers
from crpv_pipeline.correction_names import CORRECTIONS_PREFIX, made_for
from crpv_pipeline.corrections import correction_file_name, write_correction_workbook
from crpv_pipeline.file_checks import claimed_centres, file_finding
from crpv_pipeline.file_guards import DEFAULT_LIMITS, Limits, inflated_size
from crpv_pipeline.inbox import discover_returns, relative_name
from crpv_pipeline.incremental import known_returns
from crpv_pipeline.loading import LoadOutcome, compare_in_advance, load_return
from crpv_pipeline.model import ReturnResult, display_name, empty_activities
from crpv_pipeline.reading import ReturnFileError, file_sha256
from crpv_pipeline.refdata import REFERENCE_DIR_VARIABLE, Nomenclature, default_nomenclature
from crpv_pipeline.steward_overview import write_steward_overview
from crpv_pipeline.validation import validate_return
from crpv_pipeline.warehouse import create_warehouse_engine, read_table

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


@dataclass(frozen=True)
class InboxFile:
    """A return found in a year's inbox folder."""

    path: Path
    size: int
    received_at: dt.datetime
    """The file's modification time, in UTC: when the return reached the inbox."""
    sha256: str | None = None
    """SHA-256 of the file's bytes (None when it cannot be read)."""
    relative_name: str | None = None
    """Its path relative to the year folder, as people see it (``Grand Est/IREV.xlsx``)."""

    @property
    def file_name(self) -> str:
        """The name the return goes by: its path relative to the year folder."""
        return self.relative_name or display_name(self.path)


def _sha256_or_none(path: Path) -> str | None:
    try:
        return file_sha256(path)
    except OSError:
        return None


def inbox_files(inbox: Path, year: int) -> list[InboxFile]:
    """The returns of ``<inbox>/<year>/`` and its subfolders (``inbox.discover_returns``).

    A symbolic link is described by itself (its size, its date), never by what it points to.
    """
    folder = inbox / str(year)
    files = []
    for path in discover_returns(folder):
        stat = path.lstat()
        received = dt.datetime.fromtimestamp(stat.st_mtime, tz=dt.UTC).replace(tzinfo=None)
        files.append(
            InboxFile(
                path=path,
                size=stat.st_size,
                received_at=received,
                sha256=_sha256_or_none(path),
                relative_name=relative_name(path, folder),
            )
        )
    return files


def known_files(engine, files: Sequence[InboxFile], year: int) -> dict[Path, ReturnResult]:
    """The files the warehouse already knows by SHA-256, rebuilt without reading them."""
    return known_returns(
        engine, year, {f.path: f.sha256 for f in files}, {f.path: f.file_name for f in files}
    )


def reject_duplicate_centres(results: Sequence[ReturnResult], nomenclature: Nomenclature) -> None:
    """Reject every file of a centre that sent two files or more for the same year (§4)."""
    by_centre: dict[str, list[ReturnResult]] = defaultdict(list)
    for result in results:
        if result.centre_code is not None:
            by_centre[result.centre_code].append(result)
    for centre, group in by_centre.items():
        if len(group) < 2:
            continue
        names = ", ".join(r.file_name for r in group)
        for result in group:
            error = ReturnFileError("duplicate_file", value=names, centre=centre, year=result.year)
            finding = file_finding(result.path, error, nomenclature)
            result.findings = [replace(finding, file_name=result.file_name)]
            result.activities = empty_activities()
            result.rows_read = 0
            result.rejected = True
            result.recorded_as = None  # judged again by this run, not as recorded
            result.activities_stored = None


PARALLEL_MIN_BYTES = 2 * 1024 * 1024
"""Below this many bytes of returns to read, one process reads them all: starting worker
processes (about a second: each imports pandas and Pandera) would cost more than it saves.
Measured on a re-run in which 12 of 200 returns of 5 000 rows changed (3.4 MB to read): 5.0 s
for the step with workers, 5.6 s without; a year of 17 returns of 200 rows holds 0.3 MB."""


def worker_processes(environ: Mapping[str, str] | None = None) -> int:
    """Processes that read and validate returns and write their workbooks (``CRPV_WORKERS``).

    Default: the cores this process may use.
    """
    environ = os.environ if environ is None else environ
    text = environ.get("CRPV_WORKERS", "").strip()
    if text:
        if not text.isdigit() or int(text) < 1:
            raise ValueError(f"CRPV_WORKERS={text!r}: expected a whole number of processes, ≥ 1")
        return int(text)
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


READ_BUDGET_VARIABLE = "CRPV_READ_BUDGET_MB"
DEFAULT_READ_BUDGET = 256 * 1024 * 1024
"""Bytes of returns, inflated (``file_guards.inflated_size``), that worker processes may read
at once: as much as the largest return the guards let through, which then runs alone."""


def read_budget(environ: Mapping[str, str] | None = None) -> int:
    """Bytes of inflated returns the worker processes may hold at once (``CRPV_READ_BUDGET_MB``).

    Reading a return takes about its inflated size in memory for its shared strings and up to
    four times that for its sheets (a correction workbook, counted twice, up to nine times), so
    the memory that reading adds to the run's processes stays within about four times this
    budget, whatever ``CRPV_WORKERS`` is. A return larger than the budget is read alone.
    """
    environ = os.environ if environ is None else environ
    text = environ.get(READ_BUDGET_VARIABLE, "").strip()
    if not text:
        return DEFAULT_READ_BUDGET
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{READ_BUDGET_VARIABLE}={text!r}: expected a whole number of Mo, ≥ 1")
    return int(text) * 1024 * 1024


def _validate_one(job: tuple[Path, int, Limits, str | None, str | None]) -> ReturnResult:
    """Validate one return; with a warehouse URL, compare it with what it would supersede."""
    path, year, limits, warehouse_url, name = job
    result = validate_return(path, year, limits, name)
    if warehouse_url is not None:
        compare_in_advance(_worker_engine(warehouse_url), result)
    return result


@cache
def _worker_engine(url: str) -> Engine:
    """The warehouse, as a worker process reads it (one engine per process and URL)."""
    return create_warehouse_engine(url)


def _url_for_workers(engine: Engine) -> str | None:
    """The warehouse URL as other processes can open it; None for one they cannot share.

    A relative SQLite path is made absolute: worker processes may not share the current folder.
    """
    url = engine.url
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            return None
        url = url.set(database=str(Path(database).resolve()))
    return url.render_as_string(hide_password=False)


def _in_processes(
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
    settings = _worker_settings()
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


def inbox_bytes(inbox: Path, year: int) -> int:
    """Bytes of the returns in ``<inbox>/<year>/`` (what ``inbox_files`` lists), not hashed."""
    return sum(_size(path) for path in discover_returns(inbox / str(year)))


_WORKER_MODULES = ("crpv_pipeline.pipeline",)
"""Imported once by the fork server that worker processes start from (``forkserver``: a
single-threaded process, safe to fork, unlike a Dagster step with its threads), so that a
worker starts in milliseconds instead of importing pandas and Pandera for a second: this
module, which holds the workers' jobs, and with it validation, corrections and loading."""

_WORKER_SETTINGS = (REFERENCE_DIR_VARIABLE, "CRPV_MAX_ROWS", "CRPV_MAX_COLUMNS", "CRPV_MAX_FILE_MB")
"""Environment variables the work depends on (the reference lists; the limits with which a
correction workbook opens its return), sent with every job: the fork server keeps the
environment it started with."""


def _worker_settings() -> dict[str, str | None]:
    return {name: os.environ.get(name) for name in _WORKER_SETTINGS}


def _worker_started() -> None:
    """Leave what the imports created out of the garbage collector's scans (3 % of the work)."""
    gc.freeze()


def _call(call: tuple[Callable[[Any], Any], Any, Mapping[str, str | None]]) -> Any:
    """``function(job)`` in a worker, with the settings of the process that sent the job."""
    function, job, settings = call
    for name, value in settings.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    return function(job)


def _validated(
    stack: ExitStack,
    files: Sequence[InboxFile],
    year: int,
    limits: Limits,
    workers: int,
    warehouse_url: str | None = None,
) -> tuple[Iterator[ReturnResult], bool]:
    """Each file validated, in order, and whether worker processes do it (started now).

    With ``warehouse_url``, worker processes also compare each return with the submissions it
    would supersede (``compare_in_advance``), which the loading process does otherwise.
    """
    jobs = [(f.path, year, limits, warehouse_url, f.relative_name) for f in files]
    costs = [inflated_size(f.path, limits) for f in files]
    parallel = _in_processes(stack, _validate_one, jobs, workers, [f.size for f in files], costs)
    if parallel is not None:
        return parallel, True
    # One process: each load compares its return itself (the same work, and no second engine).
    jobs = [(f.path, year, limits, None, f.relative_name) for f in files]
    return map(_validate_one, jobs), False


def validate_year(
    files: Sequence[InboxFile],
    year: int,
    progress: Progress = _quiet,
    known: Mapping[Path, ReturnResult] | None = None,
    limits: Limits = DEFAULT_LIMITS,
    workers: int = 1,
) -> list[ReturnResult]:
    """Read and validate every return of a year's inbox, then apply the cross-file rules.

    Files in ``known`` (see ``known_files``) are taken as recorded instead of being read;
    ``limits`` bound what is read of the others. With ``workers`` above 1 and at least
    ``PARALLEL_MIN_BYTES`` to read, that many processes read and validate returns side by side
    (one return at a time each, so memory grows with the workers, not with the year).
    """
    known = known or {}
    with ExitStack() as stack:
        unread = [f for f in files if f.path not in known]
        _say_known(files, known, progress)
        fresh, _ = _validated(stack, unread, year, limits, workers)
        results = [
            _validated_one(index, files, file, known, fresh, progress)
            for index, file in enumerate(files, start=1)
        ]
    reject_duplicate_centres(results, default_nomenclature())
    return results


def _validated_one(
    index: int,
    files: Sequence[InboxFile],
    file: InboxFile,
    known: Mapping[Path, ReturnResult],
    fresh: Iterator[ReturnResult],
    progress: Progress,
) -> ReturnResult:
    """The next file's validated return (known, or the next one read), said in ``progress``."""
    if file.path in known:  # said once for all of them (_say_known)
        return known[file.path]
    result = next(fresh)
    progress(
        f"[{index}/{len(files)}] {result.file_name}: {result.status}, "
        f"{result.rows_loaded}/{result.rows_read} rows, "
        f"{result.n_errors} errors, {result.n_warnings} warnings"
    )
    return result


def _say_known(
    files: Sequence[InboxFile], known: Mapping[Path, ReturnResult], progress: Progress
) -> None:
    """Say in one line, not one each, which returns are known by their bytes.

    In a Dagster run each line is an event the instance stores (2 to 10 ms each on a
    persistent instance): a re-run of 200 returns said 400 lines.
    """
    names = [
        f"{known[f.path].file_name} (submission {known[f.path].recorded_as})"
        for f in files
        if f.path in known
    ]
    if names:
        progress(
            f"{len(names)} of {len(files)} returns known by their content (SHA-256),"
            f" not read again: {', '.join(names)}"
        )


def validate_and_load_year(
    engine,
    files: Sequence[InboxFile],
    year: int,
    run_id: str,
    progress: Progress = _quiet,
    known: Mapping[Path, ReturnResult] | None = None,
    limits: Limits = DEFAULT_LIMITS,
    workers: int = 1,
) -> tuple[list[ReturnResult], list[LoadOutcome]]:
    """Validate every return of a year's inbox and load each, one transaction per return.

    The same outcome as ``validate_year`` then ``load_year``, sooner: when worker processes read
    the returns, each one is loaded as soon as it is validated, while the workers read the next
    ones, unless another return of the inbox may be for the same centre (``claimed_centres``):
    such returns wait for the cross-file rules (two files for one centre are both rejected),
    applied once every return is validated. Returns the validated returns and the load outcomes,
    both in the order of ``files``; a loaded return no longer holds its activities (they are in
    the warehouse: ``ReturnResult.stored``), so memory holds the returns in flight, not the year.
    """
    known = known or {}
    nomenclature = default_nomenclature()
    received = {f.path: f.received_at for f in files}
    loaded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    outcomes: dict[Path, LoadOutcome] = {}

    def load(result: ReturnResult) -> ReturnResult:
        """Load ``result``; what remains of it (loaded activities are no longer held)."""
        outcome = outcomes[result.path] = _load_one(
            engine, result, received, loaded_at, run_id, progress
        )
        return result.stored() if outcome.action == "loaded" else result

    with ExitStack() as stack:
        unread = [f for f in files if f.path not in known]
        _say_known(files, known, progress)
        fresh, parallel = _validated(stack, unread, year, limits, workers, _url_for_workers(engine))
        claims = {path: frozenset({r.centre_code} - {None}) for path, r in known.items()}
        if parallel:  # while the workers start: who each return may be for
            claims.update((f.path, claimed_centres(f.path, nomenclature, limits)) for f in unread)
        results = []
        for index, file in enumerate(files, start=1):
            result = _validated_one(index, files, file, known, fresh, progress)
            if parallel and _alone(result, file, files, claims):
                result = load(result)
            results.append(result)
    reject_duplicate_centres(results, nomenclature)
    results = [r if r.path in outcomes else load(r) for r in results]
    return results, [outcomes[f.path] for f in files]


def _alone(
    result: ReturnResult,
    file: InboxFile,
    files: Sequence[InboxFile],
    claims: Mapping[Path, frozenset[str]],
) -> bool:
    """Whether no other return of the inbox may be for the centre of ``result``."""
    return result.centre_code is None or not any(
        result.centre_code in claims.get(other.path, ()) for other in files if other is not file
    )


def load_year(
    engine,
    files: Sequence[InboxFile],
    results: Sequence[ReturnResult],
    run_id: str,
    progress: Progress = _quiet,
) -> list[LoadOutcome]:
    """Load each validated return into the warehouse, one transaction per return.

    A file whose bytes changed since it was read is not loaded (outcome ``deferred``): the run
    that the new bytes call for loads it, so an older reading never replaces a newer one.
    """
    received = {f.path: f.received_at for f in files}
    loaded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    return [_load_one(engine, r, received, loaded_at, run_id, progress) for r in results]


def _load_one(
    engine,
    result: ReturnResult,
    received: Mapping[Path, dt.datetime],
    loaded_at: dt.datetime,
    run_id: str,
    progress: Progress,
) -> LoadOutcome:
    """Load one validated return, unless its bytes changed since it was read (``deferred``)."""
    if (_sha256_or_none(result.path) or "") != result.file_sha256:
        progress(f"{result.file_name}: changed since it was read, left for the next run")
        return LoadOutcome(None, "deferred", result.status, 0, result.n_errors, result.n_warnings)
    outcome = load_return(
        engine, result, run_id=run_id, received_at=received[result.path], loaded_at=loaded_at
    )
    if result.recorded_as is None:  # a known return stays unchanged: said by _say_known
        said = outcome_words(outcome)
        progress(f"{result.file_name}: {said} (submission {outcome.submission_id})")
    return outcome


def outcome_words(outcome: LoadOutcome) -> str:
    """What became of a return, as logged: its status, with the action when that says more.

    ``loaded``, ``loaded_with_errors``, ``rejected`` (or any other status, such as ``held``),
    and ``unchanged, loaded_with_errors`` for bytes already recorded with that status.
    """
    if outcome.action in ("loaded", outcome.status):
        return outcome.status
    return f"{outcome.action}, {outcome.status}"


def write_corrections(
    results: Sequence[ReturnResult], folder: Path, workers: int = 1
) -> list[Path]:
    """One correction workbook per return with findings, in ``folder``.

    Correction workbooks of earlier runs that no longer apply (the centre sent a clean return)
    are removed, so the folder always matches the latest run, and so are the temporary files
    of a run that was killed. With ``workers`` above 1 and enough to copy, that many processes
    write workbooks side by side.
    """
    folder.mkdir(parents=True, exist_ok=True)
    remove_leftovers(folder)
    paths = [(r, folder / correction_file_name(r)) for r in results if r.findings]
    # A file not read again keeps its workbook if that one is whole and was written for it.
    jobs = [(r, p) for r, p in paths if r.recorded_as is None or not made_for(p, r.file_sha256)]
    sizes = [_size(r.path) for r, _ in jobs]
    # Copying a return's sheets takes about twice the memory of validating it (up to 9 times
    # its inflated size, against 4): counted twice in the workers' read budget.
    costs = [2 * inflated_size(r.path) for r, _ in jobs]
    with ExitStack() as stack:
        parallel = _in_processes(stack, _correction_workbook, jobs, workers, sizes, costs)
        list(parallel if parallel is not None else map(_correction_workbook, jobs))
    written = [p for _, p in paths]
    for stale in set(folder.glob(f"{CORRECTIONS_PREFIX}*.xlsx")) - set(written):
        stale.unlink()
    return written


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _correction_workbook(job: tuple[ReturnResult, Path]) -> Path:
    result, path = job
    return write_correction_workbook(result, path)


def write_year_overview(engine, year: int, folder: Path) -> Path:
    """The stewards' workbook of ``year``: completeness and the findings of every return.

    Findings of superseded submissions are left out: they were fixed by a later return.
    """
    completeness = read_table(engine, "completeness", year)
    submissions = read_table(engine, "submission", year)
    findings = read_table(engine, "validation_failure", year)
    live = submissions.loc[submissions["status"] != "superseded", "submission_id"]
    findings = findings.loc[findings["submission_id"].isin(live)]
    names = {c.code: c.label for c in default_nomenclature().centres}
    folder.mkdir(parents=True, exist_ok=True)
    remove_leftovers(folder)
    return write_steward_overview(year, completeness, findings, folder, names)
