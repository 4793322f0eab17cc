"""Revision 0001: the warehouse of release 1 (commit 8ab0cd4), created in an empty database.

The DDL below is a frozen copy of that release's ``sql/schema`` files, in the order it created
them: never read it from today's ``sql/`` (which keeps changing) and never edit it; a change is
a new revision. A warehouse release 1 created has exactly these tables: ``migrate`` recognises
one (tables, no version table) and stamps it at this revision instead of running it.
"""

# ruff: noqa: E501  (the DDL is copied as the release wrote it, comments and all)

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

RELEASE_1_DDL = (
    # sql/schema/dim_activity_type.sql
    """\
-- Activity types of contract §2.1: one row per activity type.
create table if not exists dim_activity_type (
    activity_type_code text not null primary key, -- Stable code of the activity type (for example FORMATION)
    label text not null, -- Label shown to people, in French
    sort_order integer not null -- Position in the reference list, for display
);
""",
    # sql/schema/dim_centre.sql
    """\
-- Resource centres of contract §3: one row per centre, with the years it is expected to report.
create table if not exists dim_centre (
    centre_code text not null primary key, -- Stable code of the centre (for example IREV)
    name text not null, -- Name of the centre, in French
    region text not null, -- Region or regions the centre covers
    active_from integer, -- First year the centre is expected to report (NULL: no lower bound)
    active_to integer, -- Last year the centre is expected to report (NULL: still active)
    sort_order integer not null -- Position in the reference list, for display
);
""",
    # sql/schema/dim_modality.sql
    """\
-- Modalities of contract §2.2 (in person, remote, hybrid): one row per modality.
create table if not exists dim_modality (
    modality_code text not null primary key, -- Stable code of the modality (PRESENTIEL, DISTANCIEL or HYBRIDE)
    label text not null, -- Label shown to people, in French
    sort_order integer not null -- Position in the reference list, for display
);
""",
    # sql/schema/dim_public.sql
    """\
-- Target publics of contract §2.4: one row per public.
create table if not exists dim_public (
    public_code text not null primary key, -- Stable code of the public (for example ELUS)
    label text not null, -- Label shown to people, in French
    sort_order integer not null -- Position in the reference list, for display
);
""",
    # sql/schema/dim_theme.sql
    """\
-- Themes of contract §2.3, grouped by pillar of the contrats de ville: one row per theme.
create table if not exists dim_theme (
    theme_code text not null primary key, -- Stable code of the theme (for example EDUCATION)
    label text not null, -- Label shown to people, in French
    pillar text not null, -- Pillar of the contrats de ville the theme belongs to, in French
    pillar_order integer not null, -- Position of the pillar in the reference list, for display
    sort_order integer not null -- Position of the theme in the reference list, for display
);
""",
    # sql/schema/submission.sql
    """\
-- Files received from the centres: one row per file received, whatever became of it.
create table if not exists submission (
    submission_id integer not null primary key, -- Identifier assigned by the loader, in order of loading
    year integer not null, -- Year reported (the year folder of the inbox)
    centre_code text references dim_centre (centre_code), -- Centre that sent the file (NULL when it could not be identified; the file is then rejected)
    file_name text not null, -- Name of the file as received
    file_sha256 text not null, -- SHA-256 of the file's bytes, in hexadecimal; an identical file is not loaded twice
    template_version text, -- Template version stated in the workbook (NULL when not stated)
    received_at timestamp not null, -- When the file was received (UTC)
    loaded_at timestamp not null, -- When the loader recorded the file (UTC)
    status text not null check (status in ('loaded', 'loaded_with_errors', 'rejected', 'superseded')), -- loaded, loaded_with_errors (some rows quarantined), rejected (nothing loaded) or superseded (replaced by a later file)
    rows_read integer not null, -- Activity rows read from the file, blank rows excluded
    rows_loaded integer not null, -- Activity rows loaded into fact_activity (0 when rejected)
    rows_rejected integer not null, -- Activity rows not loaded: quarantined rows, or every row of a rejected file
    n_errors integer not null, -- Number of findings of severity error
    n_warnings integer not null, -- Number of findings of severity warning
    run_id text not null, -- Identifier of the pipeline run that loaded the file (see load_run)
    replaces_submission_id integer references submission (submission_id), -- Submission this file superseded: the centre's previous current one for the year (NULL for a first return and for a rejected file)
    activities_added integer, -- Activities of this file that the superseded submission did not have; an activity is known by its date and title (NULL when it superseded nothing)
    activities_removed integer, -- Activities of the superseded submission that this file no longer has (NULL when it superseded nothing)
    activities_changed integer, -- Activities present in both whose other fields differ: title as written, type, modality, theme, half-days, participants, department, partners, comment or publics (NULL when it superseded nothing)
    half_days_before integer, -- Half-days of the superseded submission (NULL when it superseded nothing)
    half_days_after integer -- Half-days loaded from this file (NULL when rejected)
);
""",
    # sql/schema/fact_activity.sql
    """\
-- Activities of the current submissions: one row per loaded activity (row of a centre's Activités sheet).
create table if not exists fact_activity (
    activity_id integer not null primary key, -- Identifier assigned by the loader
    submission_id integer not null references submission (submission_id), -- Submission (file) the activity comes from
    year integer not null, -- Year reported
    centre_code text not null references dim_centre (centre_code), -- Centre that carried out the activity
    source_row integer not null, -- Row number in the centre's workbook (1-based, as the centre sees it)
    activity_date date not null, -- Date of the activity
    title text not null, -- Title of the activity, as written by the centre
    activity_type_code text not null references dim_activity_type (activity_type_code), -- Activity type
    modality_code text not null references dim_modality (modality_code), -- Modality (in person, remote, hybrid)
    theme_code text not null references dim_theme (theme_code), -- Main theme
    half_days integer not null, -- Duration in half-days (1 to 60)
    participants integer, -- Number of participants (NULL when not given)
    department text, -- INSEE code of the department concerned (NULL when not given)
    partners text, -- Partners, free text (NULL when not given)
    comment text -- Comment, free text (NULL when not given)
);
""",
    # sql/schema/fact_activity_public.sql
    """\
-- Target publics of each loaded activity: one row per activity and public.
create table if not exists fact_activity_public (
    activity_id integer not null references fact_activity (activity_id), -- Activity
    public_code text not null references dim_public (public_code), -- Public the activity was aimed at
    primary key (activity_id, public_code)
);
""",
    # sql/schema/load_run.sql
    """\
-- Pipeline runs that loaded a year (the audit trail): one row per run and year, with what the run found and did and the versions it ran with.
create table if not exists load_run (
    run_id text not null, -- Identifier of the pipeline run (the Dagster run id; submission.run_id names the run that recorded a file)
    year integer not null, -- Year the run processed (its partition)
    started_at timestamp not null, -- When the run started (UTC)
    finished_at timestamp, -- When the run had rebuilt the year's derived tables (UTC; NULL while it runs, or when it stopped before)
    files_seen integer not null, -- Returns found in the year's inbox folder
    files_read integer not null, -- Returns read and validated by this run; the others were known by their SHA-256 and taken as recorded
    submissions_loaded integer not null, -- Returns loaded: new submissions whose activities replaced the centre's previous ones
    submissions_rejected integer not null, -- Returns rejected: recorded with their findings, nothing loaded
    submissions_unchanged integer not null, -- Returns already recorded (same SHA-256, same outcome), left as they were
    submissions_deferred integer not null, -- Returns that changed after they were read, left for the next run
    pipeline_version text not null, -- Version of the crpv-pipeline package that ran
    reference_data_version text not null, -- Version of the reference lists (digest of the CSV files of crpv_pipeline/data)
    primary key (run_id, year)
);
""",
    # sql/schema/validation_failure.sql
    """\
-- Validation findings of contract §4: one row per finding (error or warning) of a submission.
create table if not exists validation_failure (
    failure_id integer not null primary key, -- Identifier assigned by the loader
    submission_id integer not null references submission (submission_id), -- Submission (file) the finding belongs to
    year integer not null, -- Year reported
    centre_code text references dim_centre (centre_code), -- Centre that sent the file (NULL when it could not be identified)
    file_name text not null, -- Name of the file as received
    sheet text, -- Sheet name (NULL for a finding about the whole file)
    row_number integer, -- Row number in the sheet (1-based, as the centre sees it; NULL for a file-level finding)
    cell text, -- Cell reference, for example D14 (NULL when the finding is not about one cell)
    column_label text, -- Column label as written in the file
    field text, -- Field name of the contract (for example half_days)
    value text, -- Value as written in the file
    rule text not null, -- Identifier of the rule that was broken (for example date_invalid)
    severity text not null check (severity in ('error', 'warning')), -- error (row quarantined or file rejected) or warning (row loaded)
    message text not null -- Message in French telling the centre how to fix it
);
""",
    # sql/schema/activity_counts.sql
    """\
-- Activity counts: one row per year, centre, activity type and modality having at least one loaded activity.
create table if not exists activity_counts (
    year integer not null, -- Year reported
    centre_code text not null references dim_centre (centre_code), -- Centre
    activity_type_code text not null references dim_activity_type (activity_type_code), -- Activity type
    modality_code text not null references dim_modality (modality_code), -- Modality
    n_activities integer not null, -- Number of activities
    half_days integer not null, -- Total half-days
    participants integer not null, -- Total participants (activities without a count add nothing)
    primary key (year, centre_code, activity_type_code, modality_code)
);
""",
    # sql/schema/completeness.sql
    """\
-- Who has reported: one row per year and expected centre, with the state of its current submission.
create table if not exists completeness (
    year integer not null, -- Year reported
    centre_code text not null references dim_centre (centre_code), -- Expected centre
    status text not null check (status in ('missing', 'rejected', 'loaded_with_errors', 'loaded')), -- missing (no file), rejected, loaded_with_errors or loaded: status of the current submission
    submission_id integer references submission (submission_id), -- Current submission: the latest loaded one, else the latest rejected one (NULL when missing)
    received_at timestamp, -- When the current submission was received (UTC; NULL when missing)
    rows_loaded integer not null, -- Activity rows loaded from the current submission (0 when missing or rejected)
    n_errors integer not null, -- Errors found in the current submission (0 when missing)
    deadline date, -- Deadline for the year's returns (31 March of the following year unless configured otherwise; NULL only in rows derived by a version without deadlines)
    received_on_time boolean, -- Whether the current submission was received by the end of the deadline day, UTC (NULL when missing)
    primary key (year, centre_code)
);
""",
    # sql/schema/modality_shares.sql
    """\
-- Share of each modality within an activity type: one row per year, activity type and modality having at least one loaded activity.
create table if not exists modality_shares (
    year integer not null, -- Year reported
    activity_type_code text not null references dim_activity_type (activity_type_code), -- Activity type
    modality_code text not null references dim_modality (modality_code), -- Modality
    half_days integer not null, -- Total half-days of this type held in this modality
    share_pct double precision, -- Share of the activity type's half-days held in this modality, in percent (0 to 100, unrounded)
    primary key (year, activity_type_code, modality_code)
);
""",
    # sql/schema/theme_shares.sql
    """\
-- Share of each theme in the year's half-days: one row per year and theme of dim_theme, themes without activity included.
create table if not exists theme_shares (
    year integer not null, -- Year reported
    theme_code text not null references dim_theme (theme_code), -- Theme
    n_activities integer not null, -- Number of activities with this main theme
    half_days integer not null, -- Total half-days with this main theme
    share_half_days_pct double precision, -- Share of the year's half-days, in percent (0 to 100, unrounded; NULL when the year has none)
    primary key (year, theme_code)
);
""",
    # sql/schema/yearly_summary.sql
    """\
-- National figures of the bilan: one row per year, for every year derived.
create table if not exists yearly_summary (
    year integer not null primary key, -- Year reported
    centres_expected integer not null, -- Centres expected to report for the year (dim_centre active_from to active_to)
    centres_reporting integer not null, -- Expected centres whose current submission is loaded or loaded_with_errors
    n_activities integer not null, -- Number of loaded activities
    half_days integer not null, -- Total half-days (equals the sum of fact_activity.half_days for the year)
    participants integer not null, -- Total participants (activities without a count add nothing)
    share_distanciel_pct double precision -- Share of half-days held remotely (modality DISTANCIEL; HYBRIDE not counted), in percent (0 to 100, unrounded; NULL when the year has none)
);
""",
    # sql/schema/yearly_trend.sql
    """\
-- Year-on-year trend of the national figures: one row per year derived, with the change against the previous calendar year.
create table if not exists yearly_trend (
    year integer not null primary key, -- Year reported
    half_days integer not null, -- Total half-days (as in yearly_summary)
    n_activities integer not null, -- Number of loaded activities (as in yearly_summary)
    participants integer not null, -- Total participants (as in yearly_summary)
    half_days_change integer, -- Half-days minus those of the previous year (NULL when the previous year is not derived)
    half_days_change_pct double precision, -- Change of half-days against the previous year, in percent of the previous year (unrounded; NULL when the previous year is not derived or had none)
    n_activities_change integer, -- Activities minus those of the previous year (NULL when the previous year is not derived)
    n_activities_change_pct double precision, -- Change of activities against the previous year, in percent of the previous year (unrounded; NULL when the previous year is not derived or had none)
    participants_change integer, -- Participants minus those of the previous year (NULL when the previous year is not derived)
    participants_change_pct double precision -- Change of participants against the previous year, in percent of the previous year (unrounded; NULL when the previous year is not derived or had none)
);
""",
    # sql/schema/index_fact_activity_year_covering.sql
    """\
-- Serves the derived tables and the reconciliation checks of a year from the index alone
-- (every column they read is in it: a year of 1 000 000 activities is derived in 0.5 s instead
-- of 1.4 s on SQLite; activity_counts groups by centre, type and modality in index order,
-- without sorting), and the replacement of a centre's activities (by year and centre).
create index if not exists index_fact_activity_year_covering on fact_activity (year, centre_code, activity_type_code, modality_code, theme_code, half_days, participants);
""",
    # sql/schema/index_submission_year_centre.sql
    """\
-- Serves the search for a centre's latest submission of a year.
create index if not exists index_submission_year_centre on submission (year, centre_code);
""",
    # sql/schema/index_validation_failure_submission.sql
    """\
-- Serves listing the findings of a submission.
create index if not exists index_validation_failure_submission on validation_failure (submission_id);
""",
)
"""Every statement release 1 ran to create its warehouse (tables, then indexes)."""


def upgrade() -> None:
    conn = op.get_bind()
    for statement in RELEASE_1_DDL:  # as written: no ':name' nor '%' parsing
        conn.exec_driver_sql(statement, execution_options={"no_parameters": True})


def downgrade() -> None:
    raise NotImplementedError("the warehouse is upgraded, never downgraded")
