"""Checks of a year's derived tables: reconciliation with ``fact_activity``, completeness.

The reconciliation SQL lives in ``sql/checks/reconciliation.sql``; this module runs it and says
which measures disagree, and lists the expected centres without an exploitable return (missing,
rejected or empty) or late. The Dagster asset checks (reconciliation blocks publication,
completeness warns) are thin wrappers around it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, text

from crpv_pipeline.warehouse.dictionary import sql_dir
from crpv_pipeline.warehouse.tables import read_table

TOLERANCE = 1e-6


@dataclass(frozen=True)
class Measure:
    """One reconciled measure: what ``fact_activity`` implies and what the table holds."""

    measure: str
    expected: float
    actual: float

    @property
    def ok(self) -> bool:
        return abs(float(self.expected) - float(self.actual)) <= TOLERANCE


def reconcile_year(engine: Engine, year: int) -> list[Measure]:
    """Every reconciled measure of ``year``; a measure whose ``ok`` is false is a mismatch."""
    query = text((sql_dir() / "checks" / "reconciliation.sql").read_text(encoding="utf-8"))
    with engine.connect() as conn:
        rows = conn.execute(query, {"year": year}).all()
    return [Measure(r.measure, float(r.expected), float(r.actual)) for r in rows]


NOT_EXPLOITABLE = {
    "missing": "nothing sent",
    "rejected": "its return was rejected",
    "empty": "its return has no activity loaded",
}
"""Statuses of ``completeness`` that are no exploitable return, and why, as the check says it."""


@dataclass(frozen=True)
class Completeness:
    """Where a year's returns stand: expected centres, those without an exploitable return, late.

    ``missing`` are the centres that sent nothing; ``not_exploitable`` every centre without an
    exploitable return, those included, each with its ``completeness`` status (``missing``,
    ``rejected`` or ``empty``).
    """

    expected: int
    missing: tuple[str, ...]
    late: tuple[str, ...]
    not_exploitable: tuple[tuple[str, str], ...] = ()

    def without_exploitable_return(self) -> str:
        """Those centres, each with why: ``MAYOTTE (nothing sent), VILLECARAIBE (its return…)``."""
        return ", ".join(f"{c} ({NOT_EXPLOITABLE[s]})" for c, s in self.not_exploitable)


def completeness_of(engine: Engine, year: int) -> Completeness:
    """The expected centres of ``year`` without an exploitable return, and those that were late."""
    rows = read_table(engine, "completeness", year)
    missing = rows.loc[rows["status"] == "missing", "centre_code"]
    late = rows.loc[rows["received_on_time"].map(lambda v: v is False or v == 0), "centre_code"]
    unusable = rows.loc[rows["status"].isin(list(NOT_EXPLOITABLE)), ["centre_code", "status"]]
    not_exploitable = tuple(sorted(zip(unusable["centre_code"], unusable["status"], strict=True)))
    return Completeness(len(rows), tuple(missing), tuple(late), not_exploitable)
