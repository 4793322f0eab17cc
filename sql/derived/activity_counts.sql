-- Grain: one row per year, centre, activity type and modality having at least one loaded activity.
-- participants is NULL when none of the group's activities gives a count (the centre left the
-- column empty): unknown, not zero; n_activities_with_participants says how many give one.
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
        sum(participants) as participants,
        count(participants) as n_activities_with_participants
    from activities
    group by year, centre_code, activity_type_code, modality_code

)

select * from final
