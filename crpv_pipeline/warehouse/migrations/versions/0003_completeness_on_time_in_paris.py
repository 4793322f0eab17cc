"""Revision 0003: whether a return came on time, said in Paris time for every year derived.

``completeness`` has held the year's ``deadline`` and ``received_on_time`` since release 1,
which counted a return on time until midnight UTC after the deadline day. The deadline is a
day in Paris time (``reference.deadlines``): a return received at 23:30 UTC on 31 March 2022
came at 01:30 in Paris, late. Rows derived since are right; a year nobody runs again kept
release 1's answer. This revision recomputes ``received_on_time`` of every row from its own
``deadline`` and ``received_at`` (UTC), so that ``bi.completeness`` says who was late with
the same rule for every year. No DDL: the columns were there.

The end of a deadline day in Paris is computed here, not imported: a migration is frozen.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

PARIS = ZoneInfo("Europe/Paris")


def _first_late_instant(deadline: dt.date) -> dt.datetime:
    """Midnight in Paris after the deadline day, as a naive UTC time (how received_at is kept)."""
    midnight = dt.datetime.combine(deadline + dt.timedelta(days=1), dt.time(), tzinfo=PARIS)
    return midnight.astimezone(dt.UTC).replace(tzinfo=None)


def upgrade() -> None:
    conn = op.get_bind()
    deadlines = conn.execute(
        sa.select(sa.column("deadline", sa.Date))
        .select_from(sa.table("completeness"))
        .where(sa.column("deadline").is_not(None))
        .distinct()
    ).scalars()
    recompute = sa.text(
        "UPDATE completeness SET received_on_time = (received_at < :before)"
        " WHERE deadline = :deadline AND received_at IS NOT NULL"
    ).bindparams(
        sa.bindparam("before", type_=sa.DateTime()), sa.bindparam("deadline", type_=sa.Date())
    )
    for deadline in list(deadlines):
        conn.execute(recompute, {"before": _first_late_instant(deadline), "deadline": deadline})


def downgrade() -> None:
    raise NotImplementedError("the warehouse is upgraded, never downgraded")
