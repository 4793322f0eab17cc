"""What a figure covers, in French: unknown values and the centres behind a total or a change.

A figure built from an optional column (participants) is unknown for a centre that left the
column empty: it reads « non renseigné », never 0, and every total built from it says how many
centres it covers (« 27 014 participants (14 centres sur 16) »). A change on the previous year
compares the centres that reported both years, and says so. The bilan page, its workbook and
the summary of ``crpv run`` use these phrases. What stays out: computing the figures (the
warehouse derives them) and laying out tables.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from crpv_pipeline.reference.parsing import french_count, french_number

__all__ = [
    "NOT_GIVEN",
    "NOT_GIVEN_TEXT",
    "NotGiven",
    "activities_coverage",
    "centres_coverage",
    "compared_centres",
    "is_missing",
    "participants_text",
]

NOT_GIVEN_TEXT = "non renseigné"


class NotGiven:
    """A figure the centres did not give (an optional column left empty): unknown, not zero."""

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __str__(self) -> str:
        return NOT_GIVEN_TEXT


NOT_GIVEN = NotGiven()


def is_missing(value: Any) -> bool:
    """True for None, NaN and NaT."""
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


def centres_coverage(known: Any, total: Any) -> str:
    """``14 centres sur 16``: how many of the centres reporting gave the figure."""
    known = 0 if is_missing(known) else int(known)
    total = 0 if is_missing(total) else int(total)
    return f"{french_count(known, 'centre')} sur {french_number(total)}"


def activities_coverage(known: Any, total: Any) -> str:
    """``1 082 activités sur 1 347``, or ``toutes les activités`` when every one gives it."""
    known = 0 if is_missing(known) else int(known)
    total = 0 if is_missing(total) else int(total)
    if known == total and total:
        return "toutes les activités"
    return f"{french_count(known, 'activité')} sur {french_number(total)}"


def participants_text(participants: Any, known: Any, reporting: Any) -> str:
    """``27 014 participants (14 centres sur 16)``, or ``participants non renseignés``.

    ``known`` is missing only in a year derived by an earlier version: its coverage is unknown.
    """
    if is_missing(participants):
        return "participants non renseignés"
    count = french_count(int(participants), "participant")
    return count if is_missing(known) else f"{count} ({centres_coverage(known, reporting)})"


def compared_centres(n: Any, participants: bool = False) -> str | None:
    """``sur les 15 centres ayant transmis les deux années`` (what a change compares).

    None when ``n`` is missing (a year derived by an earlier version: not known).
    """
    if is_missing(n):
        return None
    if int(n) == 0:
        return (
            "aucun centre n'a renseigné les participants les deux années"
            if participants
            else "aucun centre n'a transmis les deux années"
        )
    n = int(n)
    what = "renseigné les participants" if participants else "transmis"
    if n == 1:
        return f"sur le seul centre ayant {what} les deux années"
    return f"sur les {french_number(n)} centres ayant {what} les deux années"
