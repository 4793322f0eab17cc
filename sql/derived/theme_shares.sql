-- Grain: one row per year and theme of dim_theme (themes without activity get zeros), so that
-- the shares of half-days add up to 100.
with

params as (

    select cast(:year as integer) as year

),

themes as (

    select theme_code
    from dim_theme

),

activities as (

    select
        theme_code,
        half_days
    from fact_activity
    where year = :year

),

by_theme as (

    select
        theme_code,
        count(*) as n_activities,
        sum(half_days) as half_days
    from activities
    group by theme_code

),

year_total as (

    -- from the few rows of by_theme, so that the year's activities are read once
    select sum(half_days) as half_days
    from by_theme

),

final as (

    select
        params.year as year,
        themes.theme_code as theme_code,
        coalesce(by_theme.n_activities, 0) as n_activities,
        coalesce(by_theme.half_days, 0) as half_days,
        cast(100.0 * coalesce(by_theme.half_days, 0) as double precision)
            / nullif(year_total.half_days, 0) as share_half_days_pct
    from themes
    cross join params
    cross join year_total
    left join by_theme
        on themes.theme_code = by_theme.theme_code

)

select * from final
