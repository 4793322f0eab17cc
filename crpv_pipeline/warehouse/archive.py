"""The archive of superseded activities: what leaves ``fact_activity`` can be put back in force.

Belongs here: moving a centre's activities in force (with their publics) into
``archive_activity`` and ``archive_activity_public`` when a later return supersedes them, keyed
by the submission they belonged to, and moving them back when a steward excludes the return
that superseded them (``put_back``): the previous return is in force again in the same
transaction, without its file. Activities get new identifiers when they come back (identifiers
are reused once rows leave ``fact_activity``); their order, rows and publics are kept. Stays out:
deciding when a return supersedes another (``loading``, ``review``), the derived tables
(``derive``), the submission's other columns.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crpv_pipeline.warehouse.rows import next_id
from crpv_pipeline.warehouse.schema import schema_table

SUPERSEDED = "superseded"


def supersede_activities(conn: Connection, year: int, centre_code: str | None) -> None:
    """Move the centre's activities of the year (and their publics) to the archive.

    None of the centre's activities is in force afterwards; each archived row keeps the
    submission it came from, so that ``put_back`` can restore that submission alone.
    """
    fact = schema_table("fact_activity")
    public = schema_table("fact_activity_public")
    archive = schema_table("archive_activity")
    archive_public = schema_table("archive_activity_public")
    of_centre = (fact.c.year == year) & (fact.c.centre_code == centre_code)
    columns = [c.name for c in archive.c]
    conn.execute(
        sa.insert(archive).from_select(
            columns, sa.select(*(fact.c[name] for name in columns)).where(of_centre)
        )
    )
    conn.execute(
        sa.insert(archive_public).from_select(
            ["submission_id", "activity_id", "public_code"],
            sa.select(fact.c.submission_id, public.c.activity_id, public.c.public_code)
            .select_from(public.join(fact, public.c.activity_id == fact.c.activity_id))
            .where(of_centre),
        )
    )
    delete_activities(conn, year, centre_code)


def delete_activities(conn: Connection, year: int, centre_code: str | None) -> None:
    """Remove the centre's activities of the year (and their publics): none is in force then."""
    fact = schema_table("fact_activity")
    public = schema_table("fact_activity_public")
    of_centre = (fact.c.year == year) & (fact.c.centre_code == centre_code)
    conn.execute(
        sa.delete(public).where(
            public.c.activity_id.in_(sa.select(fact.c.activity_id).where(of_centre))
        )
    )
    conn.execute(sa.delete(fact).where(of_centre))


def put_back(conn: Connection, submission_id: int) -> int | None:
    """Put a superseded submission back in force from the archive; how many activities came back.

    The caller has removed the centre's activities in force. The submission becomes ``loaded``
    (``loaded_with_errors`` when it has errors) and its archived rows move back to
    ``fact_activity`` and ``fact_activity_public``. None, with nothing changed, when the
    submission is not superseded or its archive does not hold every activity it loaded (it was
    superseded before the archive existed): its file must then be read again.
    """
    submission = schema_table("submission")
    archive = schema_table("archive_activity")
    archive_public = schema_table("archive_activity_public")
    row = conn.execute(
        sa.select(submission.c.status, submission.c.rows_loaded, submission.c.n_errors).where(
            submission.c.submission_id == submission_id
        )
    ).one_or_none()
    if row is None or row.status != SUPERSEDED:
        return None
    archived, lowest = conn.execute(
        sa.select(sa.func.count(), sa.func.min(archive.c.activity_id)).where(
            archive.c.submission_id == submission_id
        )
    ).one()
    if archived != row.rows_loaded:
        return None
    if archived:
        fact = schema_table("fact_activity")
        shift = next_id(conn, fact.c.activity_id) - int(lowest)
        columns = [c.name for c in archive.c]
        conn.execute(
            sa.insert(fact).from_select(
                columns,
                sa.select(
                    *(
                        (archive.c.activity_id + shift)
                        if name == "activity_id"
                        else archive.c[name]
                        for name in columns
                    )
                ).where(archive.c.submission_id == submission_id),
            )
        )
        conn.execute(
            sa.insert(schema_table("fact_activity_public")).from_select(
                ["activity_id", "public_code"],
                sa.select(archive_public.c.activity_id + shift, archive_public.c.public_code).where(
                    archive_public.c.submission_id == submission_id
                ),
            )
        )
        conn.execute(
            sa.delete(archive_public).where(archive_public.c.submission_id == submission_id)
        )
        conn.execute(sa.delete(archive).where(archive.c.submission_id == submission_id))
    conn.execute(
        sa.update(submission)
        .where(submission.c.submission_id == submission_id)
        .values(status="loaded_with_errors" if row.n_errors else "loaded")
    )
    return int(archived)
