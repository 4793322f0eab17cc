-- Share of each modality within an activity type: one row per year, activity type and modality having at least one loaded activity.
create table if not exists modality_shares (
    year integer not null, -- Year reported
    activity_type_code text not null references dim_activity_type (activity_type_code), -- Activity type
    modality_code text not null references dim_modality (modality_code), -- Modality
    half_days integer not null, -- Total half-days of this type held in this modality
    share_pct double precision, -- Share of the activity type's half-days held in this modality, in percent (0 to 100, unrounded)
    primary key (year, activity_type_code, modality_code)
);
