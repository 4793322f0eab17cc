"""The cross-file rule of a year's inbox: two files or more for one centre are all rejected (§4).

Belongs here: judging the validated returns of one year together. Stays out: the rules of a
single file (``validation``, ``file_checks``), which run before.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

from crpv_pipeline.intake.file_checks import file_finding
from crpv_pipeline.intake.reading import ReturnFileError
from crpv_pipeline.model import ReturnResult, empty_activities
from crpv_pipeline.reference.refdata import (
    Nomenclature,
)


def reject_duplicate_centres(
    results: Sequence[ReturnResult], nomenclature: Nomenclature
) -> list[ReturnResult]:
    """``results``, every file of a centre that sent two files or more for the year rejected (§4).

    The returns of those centres are new, rejected ``ReturnResult``s (judged by this run, not as
    recorded); the others are the same objects.
    """
    by_centre: dict[str, list[ReturnResult]] = defaultdict(list)
    for result in results:
        if result.centre_code is not None:
            by_centre[result.centre_code].append(result)
    rejected: dict[int, ReturnResult] = {}
    for centre, group in by_centre.items():
        if len(group) < 2:
            continue
        names = ", ".join(r.file_name for r in group)
        for result in group:
            error = ReturnFileError("duplicate_file", value=names, centre=centre, year=result.year)
            finding = file_finding(result.path, error, nomenclature)
            rejected[id(result)] = replace(
                result,
                findings=[replace(finding, file_name=result.file_name)],
                activities=empty_activities(),
                rows_read=0,
                rejected=True,
                recorded_as=None,  # judged again by this run, not as recorded
                activities_stored=None,
            )
    return [rejected.get(id(r), r) for r in results]
