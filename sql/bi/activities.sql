-- Activities with their French labels: one row per loaded activity of a current submission (fact_activity).
select
    fact_activity.activity_id as activity_id,
    fact_activity.year as year,
    fact_activity.activity_date as activity_date,
    fact_activity.centre_code as centre_code,
    dim_centre.name as centre_name, -- Name of the centre that carried out the activity, in French
    dim_centre.region as centre_region, -- Region or regions the centre covers
    fact_activity.title as title,
    fact_activity.activity_type_code as activity_type_code,
    dim_activity_type.label as activity_type, -- Activity type, as shown to people (French label)
    fact_activity.modality_code as modality_code,
    dim_modality.label as modality, -- Modality, as shown to people: Présentiel, Distanciel or Hybride
    fact_activity.theme_code as theme_code,
    dim_theme.label as theme, -- Main theme, as shown to people (French label)
    dim_theme.pillar as pillar, -- Pillar of the contrats de ville the main theme belongs to, in French
    fact_activity.half_days as half_days,
    fact_activity.participants as participants,
    fact_activity.department as department,
    fact_activity.partners as partners,
    fact_activity.comment as comment,
    fact_activity.submission_id as submission_id,
    fact_activity.source_row as source_row,
    fact_activity.source_sheet as source_sheet
from fact_activity
inner join dim_centre
    on fact_activity.centre_code = dim_centre.centre_code
inner join dim_activity_type
    on fact_activity.activity_type_code = dim_activity_type.activity_type_code
inner join dim_modality
    on fact_activity.modality_code = dim_modality.modality_code
inner join dim_theme
    on fact_activity.theme_code = dim_theme.theme_code
