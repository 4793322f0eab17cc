-- Activities of superseded submissions, kept so that a steward who excludes the return that superseded them puts them back in force at once: one row per activity of a superseded submission, as it was in fact_activity. Not read by the bilan nor by the BI views.
create table if not exists archive_activity (
    submission_id integer not null references submission (submission_id), -- Superseded submission the activity belonged to
    activity_id integer not null, -- Identifier the activity had in fact_activity (ids are reused once rows leave fact_activity: unique per submission only)
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
    comment text, -- Comment, free text (NULL when not given)
    source_sheet text, -- Activity sheet of the centre's workbook that held the row (NULL for rows loaded by earlier versions of the pipeline)
    primary key (submission_id, activity_id)
);
