"""Validating one year's returns: the files known by SHA-256 taken as recorded, the others read.

Belongs here: the order of validation and what is said of each return, the jobs the worker
processes run (validate a return; compare it with what it would supersede). Stays out: the
rules of a file (``intake``), the cross-file rule (``intake.cross_file``), loading
(``year.load``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from functools import cache
from pathlib import Path

from sqlalchemy.engine import Engine

from crpv_pipeline.intake.cross_file import reject_duplicate_centres
from crpv_pipeline.intake.file_guards import DEFAULT_LIMITS, Limits, inflated_size
from crpv_pipeline.intake.inbox import InboxFile
from crpv_pipeline.intake.validation import validate_return
from crpv_pipeline.model import ReturnResult
from crpv_pipeline.reference.refdata import (
    default_nomenclature,
)
from crpv_pipeline.warehouse.engine import create_warehouse_engine, sqlite_file
from crpv_pipeline.warehouse.incremental import known_returns
from crpv_pipeline.warehouse.loading import compare_in_advance
from crpv_pipeline.year.workers import in_processes

Progress = Callable[[str], None]


def quiet(_: str) -> None:
    return None


def known_files(engine, files: Sequence[InboxFile], year: int) -> dict[Path, ReturnResult]:
    """The files the warehouse already knows by SHA-256, rebuilt without reading them."""
    return known_returns(
        engine, year, {f.path: f.sha256 for f in files}, {f.path: f.file_name for f in files}
    )


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


def url_for_workers(engine: Engine) -> str | None:
    """The warehouse URL as other processes can open it; None for one they cannot share.

    A relative SQLite path is made absolute: worker processes may not share the current folder.
    """
    url = engine.url
    if url.get_backend_name() == "sqlite":
        database = sqlite_file(url)
        if database is None:
            return None
        url = url.set(database=str(database.resolve()))
    return url.render_as_string(hide_password=False)


def validated(
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
    parallel = in_processes(stack, _validate_one, jobs, workers, [f.size for f in files], costs)
    if parallel is not None:
        return parallel, True
    # One process: each load compares its return itself (the same work, and no second engine).
    jobs = [(f.path, year, limits, None, f.relative_name) for f in files]
    return map(_validate_one, jobs), False


def validate_year(
    files: Sequence[InboxFile],
    year: int,
    progress: Progress = quiet,
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
        say_known(files, known, progress)
        fresh, _ = validated(stack, unread, year, limits, workers)
        results = [
            validated_one(index, files, file, known, fresh, progress)
            for index, file in enumerate(files, start=1)
        ]
    results = reject_duplicate_centres(results, default_nomenclature())
    return results


def validated_one(
    index: int,
    files: Sequence[InboxFile],
    file: InboxFile,
    known: Mapping[Path, ReturnResult],
    fresh: Iterator[ReturnResult],
    progress: Progress,
) -> ReturnResult:
    """The next file's validated return (known, or the next one read), said in ``progress``."""
    if file.path in known:  # said once for all of them (say_known)
        return known[file.path]
    result = next(fresh)
    progress(
        f"[{index}/{len(files)}] {result.file_name}: {result.status}, "
        f"{result.rows_loaded}/{result.rows_read} rows, "
        f"{result.n_errors} errors, {result.n_warnings} warnings"
    )
    return result


def say_known(
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
