"""What a figure covers, in French: the phrases the bilan and `crpv run` print."""

import pytest

from crpv_pipeline.outputs.report.coverage import (
    NOT_GIVEN,
    activities_coverage,
    centres_coverage,
    compared_centres,
    participants_text,
)

NNBSP = "\u202f"


@pytest.mark.parametrize(
    ("participants", "known", "reporting", "text"),
    [
        (27014, 14, 16, f"27{NNBSP}014 participants (14 centres sur 16)"),
        (1, 1, 1, "1 participant (1 centre sur 1)"),
        (None, 0, 16, "participants non renseignés"),
        (500, None, 16, "500 participants"),  # a year derived by an earlier version
    ],
)
def test_participants_text(participants, known, reporting, text):
    assert participants_text(participants, known, reporting) == text


@pytest.mark.parametrize(
    ("n", "participants", "text"),
    [
        (15, False, "sur les 15 centres ayant transmis les deux années"),
        (1, False, "sur le seul centre ayant transmis les deux années"),
        (0, False, "aucun centre n'a transmis les deux années"),
        (11, True, "sur les 11 centres ayant renseigné les participants les deux années"),
        (0, True, "aucun centre n'a renseigné les participants les deux années"),
        (None, False, None),
    ],
)
def test_compared_centres(n, participants, text):
    assert compared_centres(n, participants=participants) == text


def test_coverage_counts_and_unknown():
    assert centres_coverage(0, 1) == "0 centre sur 1"
    assert activities_coverage(130, 145) == "130 activités sur 145"
    assert activities_coverage(36, 36) == "toutes les activités"
    assert str(NOT_GIVEN) == "non renseigné"
