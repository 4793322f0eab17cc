"""The deadline of each year's returns, from a one-line setting (``CRPV_DEADLINES``).

Belongs here: reading the setting and answering "what is the deadline of year Y". Stays out:
where the setting comes from (the Dagster resource, the command line) and what is done with the
deadline (``completeness`` compares it with ``received_at``, in SQL).

The setting is a day of the year following the reported one, ``MM-DD`` (default ``03-31``: a
year's returns are due on 31 March of the next year), optionally followed by deadlines of given
years, separated by ``;`` or ``,``: ``03-31; 2020=2021-06-30`` moves 2020's deadline to
30 June 2021 and keeps 31 March for the other years.

A deadline is a day in Paris time, where the agency works: a return is on time until 23:59:59
of that day in Europe/Paris (summer or winter time alike), whatever the time zone of the
machine. The warehouse stores reception times in UTC; ``received_before`` converts.

The national bilan of a year is due ``BILAN_DUE_DAYS`` days after its returns' deadline
(``Deadlines.bilan_due``); ``late_bilans`` says which years have passed that day without one.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

DEFAULT_DEADLINES = "03-31"

AGENCY_TIME_ZONE = ZoneInfo("Europe/Paris")
"""Where a deadline day begins and ends (the agency's time, not the machine's nor UTC)."""

END_OF_DAY_FR = "23 h 59, heure de Paris"
"""How the end of a deadline day is written for people, after the date (« 31/03/2022, … »)."""

BILAN_DUE_DAYS = 30
"""Days after the returns' deadline day within which the year's bilan is to be produced: a
bilan built from every return sent on time, by the end of 30 April for a 31 March deadline."""

_DAY = re.compile(r"^(\d{1,2})-(\d{1,2})$")
_OVERRIDE = re.compile(r"^(\d{4})\s*=\s*(\d{4}-\d{2}-\d{2})$")


class DeadlineError(ValueError):
    """A deadline setting that cannot be read; the message quotes the faulty part."""


@dataclass(frozen=True)
class Deadlines:
    """Deadline of every year: ``month``/``day`` of the next year, unless ``by_year`` says."""

    month: int = 3
    day: int = 31
    by_year: Mapping[int, dt.date] = field(default_factory=dict)

    def for_year(self, year: int) -> dt.date:
        """The last day on which a return for ``year`` is on time."""
        year = int(year)
        if year in self.by_year:
            return self.by_year[year]
        try:
            return dt.date(year + 1, self.month, self.day)
        except ValueError:  # 29 February of a common year: the last day of February
            return dt.date(year + 1, self.month, 28)

    @staticmethod
    def received_before(deadline: dt.date) -> dt.datetime:
        """The first instant that is late, UTC (naive): midnight in Paris after the deadline day.

        For 31 March 2022 (summer time, UTC+2) that is 2022-03-31 22:00 UTC; for a day in
        winter time (UTC+1), 23:00 UTC.
        """
        midnight = dt.datetime.combine(
            deadline + dt.timedelta(days=1), dt.time(), tzinfo=AGENCY_TIME_ZONE
        )
        return midnight.astimezone(dt.UTC).replace(tzinfo=None)

    def bilan_due(self, year: int) -> dt.datetime:
        """When ``year``'s bilan is late if not built yet, UTC (naive).

        Midnight in Paris after the ``BILAN_DUE_DAYS``-th day following the returns' deadline
        day: 2022-04-30 22:00 UTC for the bilan of 2021.
        """
        return self.received_before(self.for_year(year) + dt.timedelta(days=BILAN_DUE_DAYS))


def late_bilans(
    deadlines: Deadlines,
    years: Iterable[int],
    produced: Collection[int],
    watched: Collection[int],
    now: dt.datetime,
) -> list[int]:
    """The years whose bilan is due at ``now`` (UTC, naive) and was not ``produced``.

    Only the ``watched`` years (those with returns to make a bilan from) count, and the latest
    year already due, always: its missing bilan is news even when no centre has sent anything.
    """
    due = [int(y) for y in years if deadlines.bilan_due(int(y)) <= now]
    latest = max(due, default=None)
    return [y for y in due if y not in produced and (y in watched or y == latest)]


def paris_time(received: dt.datetime | None) -> dt.datetime | None:
    """A reception time of the warehouse (UTC; naive means UTC) as read in Paris, naive.

    What people read beside a deadline said in Paris time: 2022-03-31 22:30 UTC is
    2022-04-01 00:30 in Paris, late for a 31 March deadline.
    """
    if received is None:
        return None
    if received.tzinfo is None:
        received = received.replace(tzinfo=dt.UTC)
    return received.astimezone(AGENCY_TIME_ZONE).replace(tzinfo=None)


RECEIVED_HEADER = "Reçu le (heure de Paris)"
"""Header of a column of reception times converted by ``paris_time``."""


def deadline_fr(deadline: dt.date) -> str:
    """The deadline as people read it: « 31/03/2022, 23 h 59, heure de Paris »."""
    return f"{deadline:%d/%m/%Y}, {END_OF_DAY_FR}"


def parse_deadlines(text: str | None) -> Deadlines:
    """Read a deadline setting (see the module docstring); None or blank means the default."""
    parts = [p.strip() for p in re.split(r"[;,]", text or "") if p.strip()]
    month, day = 3, 31
    by_year: dict[int, dt.date] = {}
    for part in parts:
        if match := _DAY.match(part):
            month, day = int(match.group(1)), int(match.group(2))
            try:
                dt.date(2000, month, day)  # a leap year: 02-29 is a valid setting
            except ValueError as err:
                raise DeadlineError(f"deadline {part!r}: not a day of the year (MM-DD)") from err
        elif match := _OVERRIDE.match(part):
            try:
                by_year[int(match.group(1))] = dt.date.fromisoformat(match.group(2))
            except ValueError as err:
                raise DeadlineError(f"deadline {part!r}: not a date (YYYY-MM-DD)") from err
        else:
            raise DeadlineError(
                f"deadline {part!r}: expected MM-DD (day of the following year) or "
                "YEAR=YYYY-MM-DD, for example 03-31; 2020=2021-06-30"
            )
    return Deadlines(month, day, by_year)
