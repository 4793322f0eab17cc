-- Modality shares within each activity type, with French labels: one row per year, activity type and modality having at least one loaded activity (modality_shares).
select
    modality_shares.year as year,
    modality_shares.activity_type_code as activity_type_code,
    dim_activity_type.label as activity_type, -- Activity type, as shown to people (French label)
    modality_shares.modality_code as modality_code,
    dim_modality.label as modality, -- Modality, as shown to people: Présentiel, Distanciel or Hybride
    modality_shares.half_days as half_days,
    modality_shares.share_pct as share_pct
from modality_shares
inner join dim_activity_type
    on modality_shares.activity_type_code = dim_activity_type.activity_type_code
inner join dim_modality
    on modality_shares.modality_code = dim_modality.modality_code
