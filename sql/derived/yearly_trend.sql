-- Grain: one row per year having a yearly_summary row; the change is against the previous
-- calendar year (year - 1), NULL when that year is not derived. Reads yearly_summary, so it is
-- derived after it; deriving a year also rebuilds the next year's row, which reads this one.
with

current_year as (

    select
        year,
        half_days,
        n_activities,
        participants
    from yearly_summary
    where year = :year

),

previous_year as (

    select
        year + 1 as year,
        half_days,
        n_activities,
        participants
    from yearly_summary
    where year = cast(:year as integer) - 1

),

final as (

    select
        current_year.year as year,
        current_year.half_days as half_days,
        current_year.n_activities as n_activities,
        current_year.participants as participants,
        current_year.half_days - previous_year.half_days as half_days_change,
        cast(100.0 * (current_year.half_days - previous_year.half_days) as double precision)
            / nullif(previous_year.half_days, 0) as half_days_change_pct,
        current_year.n_activities - previous_year.n_activities as n_activities_change,
        cast(100.0 * (current_year.n_activities - previous_year.n_activities) as double precision)
            / nullif(previous_year.n_activities, 0) as n_activities_change_pct,
        current_year.participants - previous_year.participants as participants_change,
        cast(100.0 * (current_year.participants - previous_year.participants) as double precision)
            / nullif(previous_year.participants, 0) as participants_change_pct
    from current_year
    left join previous_year
        on current_year.year = previous_year.year

)

select * from final
