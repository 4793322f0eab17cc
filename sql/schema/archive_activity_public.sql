-- Target publics of the activities of superseded submissions (archive_activity): one row per archived activity and public.
create table if not exists archive_activity_public (
    submission_id integer not null references submission (submission_id), -- Superseded submission the activity belonged to
    activity_id integer not null, -- Identifier the activity had in fact_activity (see archive_activity)
    public_code text not null references dim_public (public_code), -- Public the activity was aimed at
    primary key (submission_id, activity_id, public_code)
);
