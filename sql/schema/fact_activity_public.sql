-- Target publics of each loaded activity: one row per activity and public.
create table if not exists fact_activity_public (
    activity_id integer not null references fact_activity (activity_id), -- Activity
    public_code text not null references dim_public (public_code), -- Public the activity was aimed at
    primary key (activity_id, public_code)
);
