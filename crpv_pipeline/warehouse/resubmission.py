"""How a resubmission differs from the submission it replaces: activities added, removed, changed.

Belongs here: reading the loaded activities of a submission back from ``fact_activity`` (with
their publics) and comparing two sets of activities. Stays out: deciding what supersedes what and
writing rows (``loading``), validation, Dagster.

An activity is known by its date and its title (compared loosely: case, accents and spacing
aside). Two activities with the same date and title are the same activity; it has *changed* when
any other field differs (the title as written included). An activity only in the new return is
*added*, one only in the replaced return *removed*. When a return holds the same date and title
several times, identical rows are paired first, then the rest in the order of their rows.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crpv_pipeline.model import ACTIVITY_COLUMNS, ActivityDiff
from crpv_pipeline.reference.refdata import normalize_label
from crpv_pipeline.warehouse.schema import schema_table

COMPARED_FIELDS = tuple(
    c for c in ACTIVITY_COLUMNS if c not in ("source_row", "source_sheet", "activity_date")
)
"""Fields whose difference makes an activity *changed* (its date and loose title identify it)."""


_FIELDS = ("activity_date", *COMPARED_FIELDS)
_TITLE, _HALF_DAYS = _FIELDS.index("title"), _FIELDS.index("half_days")
_AS_IS = frozenset({str, int, bool, dt.date, type(None)})
"""Types of values compared as they are (the usual ones: looked up, not tested one by one)."""


def _plain(value: object) -> object:
    if type(value) in _AS_IS:
        return value
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        return value.item()  # numpy scalar
    if isinstance(value, list | tuple):
        return tuple(sorted(set(value)))
    return value


def _rows(activities: pd.DataFrame) -> list[tuple]:
    """Each activity as a tuple of ``_FIELDS``, in the order of its rows.

    A missing column is None. Built column by column: a 5 000-row return in 25 ms, not 250 ms
    row by row.
    """
    ordered = activities.sort_values("source_row") if len(activities) else activities
    n = len(ordered)
    columns = [
        list(map(_plain, ordered[c].tolist())) if c in ordered.columns else [None] * n
        for c in _FIELDS
    ]
    return list(zip(*columns, strict=True))


def _keyed(rows: Sequence[tuple], loose: dict[str, str]) -> Counter[tuple[Hashable, tuple]]:
    """How many times each activity occurs: (its identity, its fields) → count.

    ``loose`` caches the loose form of each title, which repeats (the same training, another
    date).
    """
    keyed: Counter[tuple[Hashable, tuple]] = Counter()
    for row in rows:
        title = str(row[_TITLE] or "")
        if title not in loose:
            loose[title] = normalize_label(title)
        keyed[((row[0], loose[title]), row[1:])] += 1
    return keyed


def _by_identity(keyed: Counter[tuple[Hashable, tuple]]) -> Counter[Hashable]:
    counts: Counter[Hashable] = Counter()
    for (identity, _fields), n in keyed.items():
        counts[identity] += n
    return counts


def _half_days(rows: Sequence[tuple]) -> int:
    return sum(int(r[_HALF_DAYS] or 0) for r in rows)


def compare_activities(before: pd.DataFrame, after: pd.DataFrame, replaces: int) -> ActivityDiff:
    """Compare the activities of a replaced submission (``before``) with the new ones.

    Identical activities pair first (the intersection of the two multisets); of the rest, the
    activities of one identity pair as *changed* as far as both sides have some.
    """
    old_rows, new_rows = _rows(before), _rows(after)
    loose: dict[str, str] = {}
    old, new = _keyed(old_rows, loose), _keyed(new_rows, loose)
    same = old & new
    old_left, new_left = _by_identity(old - same), _by_identity(new - same)
    changed = sum(min(n, new_left[identity]) for identity, n in old_left.items())
    added = sum(new_left.values()) - changed
    removed = sum(old_left.values()) - changed
    return ActivityDiff(
        replaces, added, removed, changed, _half_days(old_rows), _half_days(new_rows)
    )


def submission_activities(conn: Connection, submission_ids: Sequence[int]) -> pd.DataFrame:
    """The loaded activities of some submissions, as a frame of ``ACTIVITY_COLUMNS``.

    ``public_codes`` is the tuple of the activity's publics, sorted by code.
    """
    fact = schema_table("fact_activity")
    public = schema_table("fact_activity_public")
    submission = schema_table("submission")
    ids = [int(i) for i in submission_ids]
    # fact_activity is indexed by year and centre: find the submissions' first, not to scan it.
    keys = conn.execute(
        sa.select(submission.c.year, submission.c.centre_code)
        .where(submission.c.submission_id.in_(ids))
        .distinct()
    ).all()
    of_submissions = sa.and_(
        sa.or_(
            sa.false(),
            *(sa.and_(fact.c.year == y, fact.c.centre_code == c) for y, c in keys),
        ),
        fact.c.submission_id.in_(ids),
    )
    stored = ["activity_id", *(c for c in ACTIVITY_COLUMNS if c in fact.c)]
    rows = conn.execute(
        sa.select(*(fact.c[c] for c in stored)).where(of_submissions).order_by(fact.c.activity_id)
    ).all()
    publics: dict[int, list[str]] = defaultdict(list)
    for activity_id, code in conn.execute(
        sa.select(public.c.activity_id, public.c.public_code)
        .where(public.c.activity_id.in_(sa.select(fact.c.activity_id).where(of_submissions)))
        .order_by(public.c.activity_id, public.c.public_code)
    ):
        publics[activity_id].append(code)
    columns = dict(zip(stored, map(list, zip(*rows, strict=True)), strict=True)) if rows else {}
    ids = columns.get("activity_id", [])
    columns["public_codes"] = [tuple(publics.get(i, ())) for i in ids]
    return pd.DataFrame(
        {c: pd.Series(columns.get(c, [None] * len(ids)), dtype=object) for c in ACTIVITY_COLUMNS}
    )
