"""Plausibility across years and centres: warnings a return can deserve while valid cell by cell.

Belongs here: the rows of ``plausibility_finding`` for one year, computed in the transaction that
rebuilds the year's derived tables (``derive``), so that they follow resubmissions. Each rule has
an id and a French message in ``rules.csv`` (level ``year``) and its threshold in
``plausibility.csv`` (reference data, never in code):

- a centre's half-days, or activities, changed by more than the threshold (percent) against its
  own previous year in force;
- a theme's share of a centre's half-days moved by more than the threshold (points);
- a centre's half-days per activity, or participants per activity, of an activity type far from
  the other centres' that year: robust distance ``|x − median| / (1.4826 × MAD)`` (median and
  median absolute deviation, not mean and standard deviation, so that one outlier does not hide
  another);
- a centre that had activities in force the previous year and sent nothing this year, once the
  deadline has passed.

They are warnings: nothing is quarantined or blocked. Stays out: deciding on them (``review``),
showing them (``outputs``), the other derived tables (``sql/derived``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crpv_pipeline.reference.deadlines import Deadlines, deadline_fr
from crpv_pipeline.reference.parsing import french_count, french_number, pct
from crpv_pipeline.reference.refdata import Nomenclature, default_nomenclature
from crpv_pipeline.warehouse.decisions import finding_key
from crpv_pipeline.warehouse.schema import schema_table

TABLE = "plausibility_finding"
CURRENT_STATUSES = ("loaded", "loaded_with_errors")
MAD_SCALE = 1.4826
"""Makes the median absolute deviation estimate the standard deviation of normal data."""
ALL, RETURN = "all", "return"


def compute_plausibility(
    conn: Connection, year: int, deadlines: Deadlines, if_derived: bool = False
) -> int:
    """Replace the plausibility warnings of ``year``; how many there are now.

    Runs in the caller's transaction. With ``if_derived`` (rebuilding the year after the one
    derived, whose warnings compare with it), a year never derived (no ``yearly_summary`` row)
    gets none.
    """
    table = schema_table(TABLE)
    conn.execute(sa.delete(table).where(table.c.year == year))
    if if_derived:
        summary = schema_table("yearly_summary")
        if not conn.scalar(
            sa.select(sa.func.count()).select_from(summary).where(summary.c.year == year)
        ):
            return 0
    rows = list(_findings(conn, year, deadlines, default_nomenclature()))
    if rows:
        conn.execute(sa.insert(table), rows)
    return len(rows)


def _frame(conn: Connection, statement) -> pd.DataFrame:
    result = conn.execute(statement)
    return pd.DataFrame(result.all(), columns=list(result.keys()))


def _findings(
    conn: Connection, year: int, deadlines: Deadlines, nomenclature: Nomenclature
) -> Iterator[dict]:
    fact = schema_table("fact_activity")
    submission = schema_table("submission")
    two_years = fact.c.year.in_((year, year - 1))
    totals = _frame(
        conn,
        sa.select(
            fact.c.year,
            fact.c.centre_code,
            sa.func.count().label("n"),
            sa.func.sum(fact.c.half_days).label("half_days"),
        )
        .where(two_years)
        .group_by(fact.c.year, fact.c.centre_code),
    )
    themes = _frame(
        conn,
        sa.select(
            fact.c.year,
            fact.c.centre_code,
            fact.c.theme_code,
            sa.func.sum(fact.c.half_days).label("half_days"),
        )
        .where(two_years)
        .group_by(fact.c.year, fact.c.centre_code, fact.c.theme_code),
    )
    types = _frame(
        conn,
        sa.select(
            fact.c.centre_code,
            fact.c.activity_type_code,
            sa.func.count().label("n"),
            sa.func.sum(fact.c.half_days).label("half_days"),
            sa.func.sum(fact.c.participants).label("participants"),
            sa.func.count(fact.c.participants).label("n_participants"),
        )
        .where(fact.c.year == year)
        .group_by(fact.c.centre_code, fact.c.activity_type_code),
    )
    in_force = {
        r.centre_code: (r.submission_id, r.file_sha256)
        for r in conn.execute(
            sa.select(
                submission.c.centre_code, submission.c.submission_id, submission.c.file_sha256
            )
            .where(submission.c.year == year, submission.c.status.in_(CURRENT_STATUSES))
            .order_by(submission.c.submission_id)
        )
    }
    sent = set(
        conn.scalars(
            sa.select(submission.c.centre_code).where(
                submission.c.year == year, submission.c.centre_code.is_not(None)
            )
        )
    )
    context = _Context(year, nomenclature, in_force)
    yield from _changes(context, totals, themes)
    yield from _peers(context, types)
    yield from _missing(context, totals, sent, deadlines)


class _Context:
    """What every warning of the year shares: the year, the thresholds, the returns in force."""

    def __init__(self, year: int, nomenclature: Nomenclature, in_force: dict):
        self.year = year
        self.nomenclature = nomenclature
        self.in_force = in_force

    def threshold(self, rule: str) -> tuple[float, float] | None:
        entry = self.nomenclature.plausibility.get(rule)
        return None if entry is None else (entry.threshold, entry.minimum)

    def row(
        self,
        rule: str,
        centre: str,
        subject: str,
        value: float | None,
        reference: float | None,
        threshold: float,
        **words: object,
    ) -> dict:
        submission_id, sha = self.in_force.get(centre, (None, None))
        message = self.nomenclature.message(rule, year=self.year, previous=self.year - 1, **words)
        return {
            "year": self.year,
            "centre_code": centre,
            "rule": rule,
            "subject": subject,
            "submission_id": submission_id,
            "file_sha256": sha,
            "finding_key": finding_key(rule, subject, None, None),
            "value": None if value is None else float(value),
            "reference": None if reference is None else float(reference),
            "threshold": float(threshold),
            "message": message,
        }


def _signed_pct(change: float) -> str:
    return ("+" if change > 0 else "") + pct(change)


def _changes(context: _Context, totals: pd.DataFrame, themes: pd.DataFrame) -> Iterator[dict]:
    """A centre against its own previous year: totals, then each theme's share."""
    year = context.year
    now = totals[totals["year"] == year].set_index("centre_code")
    before = totals[totals["year"] == year - 1].set_index("centre_code")
    for centre in sorted(set(now.index) & set(before.index)):
        for rule, column, word in (
            ("plausibility_half_days_change", "half_days", "demi-journée"),
            ("plausibility_activities_change", "n", "activité"),
        ):
            limits = context.threshold(rule)
            old, new = int(before.loc[centre, column]), int(now.loc[centre, column])
            if limits is None or old < limits[1]:
                continue
            change = 100.0 * (new - old) / old
            if abs(change) > limits[0]:
                yield context.row(
                    rule,
                    centre,
                    ALL,
                    new,
                    old,
                    limits[0],
                    after=french_count(new, word),
                    before=french_number(old),
                    change=_signed_pct(change),
                )
        yield from _theme_shifts(context, centre, themes, now, before)


def _theme_shifts(context, centre, themes, now, before) -> Iterator[dict]:
    rule = "plausibility_theme_share_shift"
    limits = context.threshold(rule)
    year = context.year
    total_now, total_before = (
        int(now.loc[centre, "half_days"]),
        int(before.loc[centre, "half_days"]),
    )
    if limits is None or min(total_now, total_before) < limits[1]:
        return
    mine = themes[themes["centre_code"] == centre]
    share_now = mine[mine["year"] == year].set_index("theme_code")["half_days"] / total_now * 100
    share_before = (
        mine[mine["year"] == year - 1].set_index("theme_code")["half_days"] / total_before * 100
    )
    labels = {t.code: t.label for t in context.nomenclature.themes}
    for theme in sorted(set(share_now.index) | set(share_before.index)):
        after, prior = float(share_now.get(theme, 0.0)), float(share_before.get(theme, 0.0))
        if abs(after - prior) > limits[0]:
            points = french_number(round(after - prior, 1), 1)
            yield context.row(
                rule,
                centre,
                theme,
                after,
                prior,
                limits[0],
                theme=labels.get(theme, theme),
                after=pct(after),
                before=pct(prior),
                change=f"{'+' if after > prior else ''}{points} points",
            )


def _peers(context: _Context, types: pd.DataFrame) -> Iterator[dict]:
    """A centre against the other centres of the year, per activity type (median and MAD)."""
    labels = {t.code: t.label for t in context.nomenclature.activity_types}
    for rule, numerator, count in (
        ("plausibility_half_days_per_activity", "half_days", "n"),
        ("plausibility_participants_per_activity", "participants", "n_participants"),
    ):
        limits = context.threshold(rule)
        if limits is None:
            continue
        for activity_type, group in types.groupby("activity_type_code"):
            group = group[group[count] > 0]
            if len(group) < limits[1]:
                continue
            ratios = group[numerator].astype(float) / group[count].astype(float)
            median = float(ratios.median())
            mad = float((ratios - median).abs().median())
            if mad == 0:
                continue  # most centres alike: no spread to measure a distance with
            for centre, ratio, n in zip(group["centre_code"], ratios, group[count], strict=True):
                distance = abs(ratio - median) / (MAD_SCALE * mad)
                if distance > limits[0]:
                    yield context.row(
                        rule,
                        centre,
                        activity_type,
                        ratio,
                        median,
                        limits[0],
                        ratio=french_number(round(ratio, 1), 1),
                        activity_type=labels.get(activity_type, activity_type),
                        activities=french_count(int(n), "activité"),
                        median=french_number(round(median, 1), 1),
                    )


def _missing(context: _Context, totals, sent: set[str], deadlines: Deadlines) -> Iterator[dict]:
    """Centres that had activities the previous year and sent nothing, once the deadline passed."""
    rule = "plausibility_missing_return"
    limits = context.threshold(rule)
    deadline = deadlines.for_year(context.year)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    if limits is None or now < Deadlines.received_before(deadline):
        return
    expected = {c.code for c in context.nomenclature.expected_centres(context.year)}
    before = totals[totals["year"] == context.year - 1].set_index("centre_code")["n"]
    for centre in sorted(expected - sent):
        if centre in before.index and int(before[centre]) >= limits[1]:
            yield context.row(
                rule,
                centre,
                RETURN,
                None,
                int(before[centre]),
                limits[0],
                previous_activities=french_count(int(before[centre]), "activité"),
                deadline=deadline_fr(deadline),
            )
