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

import math
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crpv_pipeline.model import ACTIVITY_COLUMNS
from crpv_pipeline.refdata import normalize_label
from crpv_pipeline.warehouse import schema_table

COMPARED_FIELDS = tuple(c for c in ACTIVITY_COLUMNS if c not in ("source_row", "activity_date"))
"""Fields whose difference makes an activity *changed* (its date and loose title identify it)."""


@dataclass(frozen=True)
class ActivityDiff:
    """A resubmission compared with the submission it replaces."""

    replaces: int
    added: int
    removed: int
    changed: int
    half_days_before: int
    half_days_after: int


def _plain(value: object) -> object:
    if value is None or value is pd.NA or value is pd.NaT:
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


def _records(activities: pd.DataFrame) -> list[dict[str, object]]:
    ordered = activities.sort_values("source_row") if len(activities) else activities
    return [
        {c: _plain(row.get(c)) for c in ("activity_date", *COMPARED_FIELDS)}
        for row in ordered.to_dict("records")
    ]


def _identity(record: dict[str, object]) -> Hashable:
    return (record["activity_date"], normalize_label(str(record["title"] or "")))


def _fields(record: dict[str, object]) -> tuple:
    return tuple(record[f] for f in COMPARED_FIELDS)


def _half_days(records: Sequence[dict[str, object]]) -> int:
    return sum(int(r["half_days"] or 0) for r in records)


def compare_activities(before: pd.DataFrame, after: pd.DataFrame, replaces: int) -> ActivityDiff:
    """Compare the activities of a replaced submission (``before``) with the new ones."""
    old, new = _records(before), _records(after)
    old_groups: dict[Hashable, list[tuple]] = defaultdict(list)
    new_groups: dict[Hashable, list[tuple]] = defaultdict(list)
    for record in old:
        old_groups[_identity(record)].append(_fields(record))
    for record in new:
        new_groups[_identity(record)].append(_fields(record))
    added = removed = changed = 0
    for key in old_groups.keys() | new_groups.keys():
        olds, news = list(old_groups.get(key, [])), list(new_groups.get(key, []))
        for fields in list(news):  # identical rows pair first
            if fields in olds:
                olds.remove(fields)
                news.remove(fields)
        paired = min(len(olds), len(news))
        changed += paired
        added += len(news) - paired
        removed += len(olds) - paired
    return ActivityDiff(replaces, added, removed, changed, _half_days(old), _half_days(new))


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
    rows = conn.execute(
        sa.select(fact.c.activity_id, *(fact.c[c] for c in ACTIVITY_COLUMNS if c in fact.c))
        .where(of_submissions)
        .order_by(fact.c.activity_id)
    ).all()
    publics: dict[int, list[str]] = defaultdict(list)
    for activity_id, code in conn.execute(
        sa.select(public.c.activity_id, public.c.public_code)
        .where(public.c.activity_id.in_(sa.select(fact.c.activity_id).where(of_submissions)))
        .order_by(public.c.activity_id, public.c.public_code)
    ):
        publics[activity_id].append(code)
    records = [
        {**row._asdict(), "public_codes": tuple(publics.get(row.activity_id, ()))} for row in rows
    ]
    frame = pd.DataFrame(records, columns=["activity_id", *ACTIVITY_COLUMNS], dtype=object)
    return frame.drop(columns="activity_id")
