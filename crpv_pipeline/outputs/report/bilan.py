"""The national bilan of one year as data: what the HTML page and the workbook are written from."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd

from crpv_pipeline.outputs.report.tables import (
    ReportTable,
)

TITLE = "Bilan quantitatif de l'activité des centres de ressources politique de la ville"


PROVISIONAL = "provisoire"
"""What the bilan says in its title and on every page until every exploitable return is
approved by a steward."""


class NoDataForYear(LookupError):
    """The warehouse holds no derived figures for the year asked for."""


class NotFinal(RuntimeError):
    """The final bilan was asked for while exploitable returns await a steward's approval."""


@dataclass(frozen=True)
class Bilan:
    """Everything the report of ``year`` shows, read from the warehouse."""

    year: int
    summary: dict[str, Any]
    previous: dict[str, Any] | None
    trend: dict[str, Any] | None
    years: pd.DataFrame
    by_type: pd.DataFrame
    modalities: tuple[tuple[str, str], ...]
    themes: pd.DataFrame
    missing: tuple[str, ...]
    rejected: tuple[str, ...]
    late: tuple[str, ...]
    deadline: Any
    tables: tuple[ReportTable, ...]
    awaiting_approval: tuple[str, ...] = ()
    """Centres whose exploitable return awaits a steward's approval: the bilan is provisional."""
    as_of: dt.datetime | None = None
    """When the warehouse's data last changed (``audit.last_change``, naive UTC): the date the
    bilan is « as of », never the time it was written, so that the same data give the same
    bytes."""

    @property
    def provisional(self) -> bool:
        """Whether the bilan is provisional: some exploitable return is not approved yet."""
        return bool(self.awaiting_approval)

    def title(self, title: str) -> str:
        """``title — 2021``, followed by « (provisoire) » while the bilan is provisional."""
        return f"{title} — {self.year}" + (f" ({PROVISIONAL})" if self.provisional else "")

    def table(self, name: str) -> ReportTable:
        return next(t for t in self.tables if t.name == name)
