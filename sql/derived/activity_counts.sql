-- Grain: one row per year, centre, activity type and modality having at least one loaded activity.
with

activities as (

    select
        year,
        centre_code,
        activity_type_code,
        modality_code,
        half_days,
        participants
    from fact_activity
    where year = :year

),

final as (

    select
        year,
        centre_code,
        activity_type_code,
        modality_code,
        count(*) as n_activities,
        sum(half_days) as half_days,
        coalesce(sum(participants), 0) as participants
    from activities
    group by year, centre_code, activity_type_code, modality_code

)

select * from final
