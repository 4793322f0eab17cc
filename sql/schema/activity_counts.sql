-- Activity counts: one row per year, centre, activity type and modality having at least one loaded activity.
create table if not exists activity_counts (
    year integer not null, -- Year reported
    centre_code text not null references dim_centre (centre_code), -- Centre
    activity_type_code text not null references dim_activity_type (activity_type_code), -- Activity type
    modality_code text not null references dim_modality (modality_code), -- Modality
    n_activities integer not null, -- Number of activities
    half_days integer not null, -- Total half-days
    participants integer, -- Total participants of the activities that give a count (NULL when none does: unknown, not zero)
    n_activities_with_participants integer, -- Activities whose number of participants is given (the others are unknown, not zero)
    primary key (year, centre_code, activity_type_code, modality_code)
);
