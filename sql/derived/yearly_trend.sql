-- Grain: one row per year having a yearly_summary row. Each change compares like with like: the
-- centres that reported activities both this year and the previous calendar year (year - 1),
-- centres_compared of them (for participants, those that gave participants both years). Changes
-- are NULL when the previous year is not derived or no centre reported both years. Reads
-- yearly_summary and activity_counts, so it is derived after them; deriving a year also
-- rebuilds the next year's row, which reads this one.
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

    select year + 1 as year
    from yearly_summary
    where year = cast(:year as integer) - 1

),

by_centre as (

    select
        year,
        centre_code,
        sum(n_activities) as n_activities,
        sum(half_days) as half_days,
        sum(participants) as participants
    from activity_counts
    where year = :year
        or year = cast(:year as integer) - 1
    group by year, centre_code

),

both_years as (

    select
        this_year.half_days as half_days,
        last_year.half_days as half_days_before,
        this_year.n_activities as n_activities,
        last_year.n_activities as n_activities_before,
        case
            when this_year.participants is not null and last_year.participants is not null then 1
            else 0
        end as participants_compared,
        this_year.participants as participants,
        last_year.participants as participants_before
    from by_centre as this_year
    inner join by_centre as last_year
        on this_year.centre_code = last_year.centre_code
            and last_year.year = this_year.year - 1
    where this_year.year = :year

),

compared as (

    select
        count(*) as centres_compared,
        sum(half_days) as half_days,
        sum(half_days_before) as half_days_before,
        sum(n_activities) as n_activities,
        sum(n_activities_before) as n_activities_before,
        sum(participants_compared) as participants_centres_compared,
        sum(case when participants_compared = 1 then participants end) as participants,
        sum(case when participants_compared = 1 then participants_before end)
            as participants_before
    from both_years

),

final as (

    select
        current_year.year as year,
        current_year.half_days as half_days,
        current_year.n_activities as n_activities,
        current_year.participants as participants,
        compared.half_days - compared.half_days_before as half_days_change,
        cast(100.0 * (compared.half_days - compared.half_days_before) as double precision)
            / nullif(compared.half_days_before, 0) as half_days_change_pct,
        compared.n_activities - compared.n_activities_before as n_activities_change,
        cast(100.0 * (compared.n_activities - compared.n_activities_before) as double precision)
            / nullif(compared.n_activities_before, 0) as n_activities_change_pct,
        compared.participants - compared.participants_before as participants_change,
        cast(100.0 * (compared.participants - compared.participants_before) as double precision)
            / nullif(compared.participants_before, 0) as participants_change_pct,
        case when previous_year.year is not null then compared.centres_compared end
            as centres_compared,
        case when previous_year.year is not null then compared.participants_centres_compared end
            as participants_centres_compared
    from current_year
    cross join compared
    left join previous_year
        on current_year.year = previous_year.year

)

select * from final
