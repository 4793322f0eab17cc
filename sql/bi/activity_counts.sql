-- Activity counts with French labels: one row per year, centre, activity type and modality having at least one loaded activity (activity_counts).
select
    activity_counts.year as year,
    activity_counts.centre_code as centre_code,
    dim_centre.name as centre_name, -- Name of the centre, in French
    dim_centre.region as centre_region, -- Region or regions the centre covers
    activity_counts.activity_type_code as activity_type_code,
    dim_activity_type.label as activity_type, -- Activity type, as shown to people (French label)
    activity_counts.modality_code as modality_code,
    dim_modality.label as modality, -- Modality, as shown to people: Présentiel, Distanciel or Hybride
    activity_counts.n_activities as n_activities,
    activity_counts.half_days as half_days,
    activity_counts.participants as participants,
    activity_counts.n_activities_with_participants as n_activities_with_participants
from activity_counts
inner join dim_centre
    on activity_counts.centre_code = dim_centre.centre_code
inner join dim_activity_type
    on activity_counts.activity_type_code = dim_activity_type.activity_type_code
inner join dim_modality
    on activity_counts.modality_code = dim_modality.modality_code
