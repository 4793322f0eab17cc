"""The steward's decisions the demo takes, so that its years show a review under way.

After the demo's runs, a steward of the demo accepts one warning of 2021 that was right (RésO
Villes' 25-half-day training did last that long) and approves the return of every centre left
with nothing open: the 2021 bilan stays « provisoire » while the other centres' findings await
a decision (``crpv review --year 2021`` lists them). Stays out: what a decision does
(``warehouse.review``), writing the returns (``returns``).
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from crpv_pipeline.warehouse.awaiting import pending
from crpv_pipeline.warehouse.review import take_decision

DEMO_STEWARD = "Référente ANCT (démo)"
ACCEPTED = (
    "RESOVILLES",
    "half_days_high",
    "Formation-action de 25 demi-journées : durée confirmée par le centre",
)
"""The warning the demo's steward accepts: centre, rule, reason."""
APPROVAL_REASON = "Bilan vérifié : aucun constat ouvert"


def take_demo_decisions(engine: Engine, year: int = 2021) -> list[str]:
    """Accept the demo's right warning, approve the returns with nothing open; what was done."""
    done = []
    centre, rule, reason = ACCEPTED
    for item in pending(engine, year):
        if item.kind == "finding" and item.centre_code == centre and item.rule == rule:
            taken = take_decision(
                engine,
                year,
                "accept",
                item.file_sha256,
                finding=item.subject,
                reason=reason,
                decided_by=DEMO_STEWARD,
            )
            done.append(taken.effect)
            break
    for item in pending(engine, year):
        if item.kind == "approval" and item.approval == "reviewed":
            taken = take_decision(
                engine,
                year,
                "approve",
                item.file_sha256,
                reason=APPROVAL_REASON,
                decided_by=DEMO_STEWARD,
            )
            done.append(taken.effect)
    return done
