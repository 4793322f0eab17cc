"""Checks of a year's derived tables: reconciliation with ``fact_activity``, completeness.

The reconciliation SQL lives in ``sql/checks/reconciliation.sql``; this module runs it and says
which measures disagree, and lists the expected centres still missing or late. The Dagster asset
checks (reconciliation blocks publication, completeness warns) are thin wrappers around it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, text

from crpv_pipeline.warehouse import read_table, sql_dir

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


@dataclass(frozen=True)
class Completeness:
    """Where a year's returns stand: expected centres, and those missing or received late."""

    expected: int
    missing: tuple[str, ...]
    late: tuple[str, ...]


def completeness_of(engine: Engine, year: int) -> Completeness:
    """The expected centres of ``year`` with no return yet, and those whose return came late."""
    rows = read_table(engine, "completeness", year)
    missing = rows.loc[rows["status"] == "missing", "centre_code"]
    late = rows.loc[rows["received_on_time"].map(lambda v: v is False or v == 0), "centre_code"]
    return Completeness(len(rows), tuple(missing), tuple(late))
