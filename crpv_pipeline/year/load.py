"""Loading one year while validating it: each validated return loaded in its own transaction.

Belongs here: the order of loading (a return loaded as soon as it is validated unless another
file may be for its centre), returns that changed since they were read (``deferred``), files a
steward excluded (left out), what is said of each load. Stays out: the SQL of a load
(``warehouse.loading``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path

from crpv_pipeline.intake.cross_file import reject_duplicate_centres
from crpv_pipeline.intake.file_checks import claimed_centres
from crpv_pipeline.intake.file_guards import DEFAULT_LIMITS, Limits
from crpv_pipeline.intake.inbox import InboxFile, sha256_or_none
from crpv_pipeline.model import ReturnResult
from crpv_pipeline.reference.refdata import (
    default_nomenclature,
)
from crpv_pipeline.warehouse.decisions import excluded_files
from crpv_pipeline.warehouse.loading import LoadOutcome, load_return
from crpv_pipeline.year.validate import (
    Progress,
    quiet,
    say_known,
    url_for_workers,
    validated,
    validated_one,
)


def validate_and_load_year(
    engine,
    files: Sequence[InboxFile],
    year: int,
    run_id: str,
    progress: Progress = quiet,
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
    files = without_excluded(engine, files, year, progress)
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
        say_known(files, known, progress)
        fresh, parallel = validated(stack, unread, year, limits, workers, url_for_workers(engine))
        claims = {path: frozenset({r.centre_code} - {None}) for path, r in known.items()}
        if parallel:  # while the workers start: who each return may be for
            claims.update((f.path, claimed_centres(f.path, nomenclature, limits)) for f in unread)
        results = []
        for index, file in enumerate(files, start=1):
            result = validated_one(index, files, file, known, fresh, progress)
            if parallel and _alone(result, file, files, claims):
                result = load(result)
            results.append(result)
    results = reject_duplicate_centres(results, nomenclature)
    results = [r if r.path in outcomes else load(r) for r in results]
    return results, [outcomes[f.path] for f in files]


def without_excluded(
    engine, files: Sequence[InboxFile], year: int, progress: Progress = quiet
) -> list[InboxFile]:
    """``files`` but those a steward excluded from ``year`` (by SHA-256): never read nor loaded.

    Left out before anything else, an excluded file is neither loaded nor counted as a second
    file of its centre, wherever it sits in the year's folder and whatever its name.
    """
    with engine.connect() as conn:
        excluded = excluded_files(conn, year)
    kept = [f for f in files if f.sha256 is None or f.sha256 not in excluded]
    for file in files:
        if file not in kept:
            progress(f"{file.file_name}: excluded from {year} by a steward's decision, left out")
    return kept


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
    progress: Progress = quiet,
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
    if (sha256_or_none(result.path) or "") != result.file_sha256:
        progress(f"{result.file_name}: changed since it was read, left for the next run")
        return LoadOutcome(None, "deferred", result.status, 0, result.n_errors, result.n_warnings)
    outcome = load_return(
        engine, result, run_id=run_id, received_at=received[result.path], loaded_at=loaded_at
    )
    if result.recorded_as is None:  # a known return stays unchanged: said by say_known
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
