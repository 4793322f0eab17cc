"""Reconciliation of a year's derived tables with ``fact_activity`` (no Dagster here).

The SQL lives in ``sql/checks/reconciliation.sql``; this module runs it and says which measures
disagree. The Dagster asset check that blocks publication is a thin wrapper around it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, text

from crpv_pipeline.warehouse import sql_dir

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
