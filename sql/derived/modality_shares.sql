-- Grain: one row per year, activity type and modality having at least one loaded activity;
-- share_pct is the modality's share of the activity type's half-days.
-- Reads activity_counts (rebuilt first, in the same transaction, from fact_activity), which
-- already sums the year's half-days per centre, type and modality: a few hundred rows instead
-- of every activity.
with

activities as (

    select
        year,
        activity_type_code,
        modality_code,
        half_days
    from activity_counts
    where year = :year

),

by_modality as (

    select
        year,
        activity_type_code,
        modality_code,
        sum(half_days) as half_days
    from activities
    group by year, activity_type_code, modality_code

),

by_type as (

    select
        activity_type_code,
        sum(half_days) as half_days
    from activities
    group by activity_type_code

),

final as (

    select
        by_modality.year as year,
        by_modality.activity_type_code as activity_type_code,
        by_modality.modality_code as modality_code,
        by_modality.half_days as half_days,
        cast(100.0 * by_modality.half_days as double precision)
            / nullif(by_type.half_days, 0) as share_pct
    from by_modality
    inner join by_type
        on by_modality.activity_type_code = by_type.activity_type_code

)

select * from final
