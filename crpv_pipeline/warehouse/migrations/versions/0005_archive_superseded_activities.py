"""Revision 0005: the activities of superseded returns are kept, to put a return back in force.

What changed in ``sql/schema``:

- ``archive_activity`` and ``archive_activity_public`` (new tables): when a return supersedes
  the centre's return in force, the activities and publics that leave ``fact_activity`` are
  copied there, keyed by the superseded submission. A steward who excludes the return in force
  (a file sent by mistake) puts the previous return back in force from them, at once.

Rows are kept: two tables created, nothing else changed. Returns superseded before this revision
have nothing archived; excluding the return that superseded one of them still removes its
activities, and the previous return comes back when a run reads its file again, as before.
"""

# ruff: noqa: E501  (the DDL is copied as this revision's sql/schema wrote it)

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ARCHIVE_ACTIVITY = """\
create table if not exists archive_activity (
    submission_id integer not null references submission (submission_id),
    activity_id integer not null,
    year integer not null,
    centre_code text not null references dim_centre (centre_code),
    source_row integer not null,
    activity_date date not null,
    title text not null,
    activity_type_code text not null references dim_activity_type (activity_type_code),
    modality_code text not null references dim_modality (modality_code),
    theme_code text not null references dim_theme (theme_code),
    half_days integer not null,
    participants integer,
    department text,
    partners text,
    comment text,
    source_sheet text,
    primary key (submission_id, activity_id)
)
"""

ARCHIVE_ACTIVITY_PUBLIC = """\
create table if not exists archive_activity_public (
    submission_id integer not null references submission (submission_id),
    activity_id integer not null,
    public_code text not null references dim_public (public_code),
    primary key (submission_id, activity_id, public_code)
)
"""
_NO_PARAMS = {"no_parameters": True}


def upgrade() -> None:
    conn = op.get_bind()
    conn.exec_driver_sql(ARCHIVE_ACTIVITY, execution_options=_NO_PARAMS)
    conn.exec_driver_sql(ARCHIVE_ACTIVITY_PUBLIC, execution_options=_NO_PARAMS)


def downgrade() -> None:
    raise NotImplementedError("the warehouse is upgraded, never downgraded")
