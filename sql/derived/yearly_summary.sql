-- Grain: exactly one row per year, even when nothing was loaded (zeros, NULL share).
with

params as (

    select cast(:year as integer) as year

),

expected_centres as (

    select dim_centre.centre_code
    from dim_centre
    cross join params
    where coalesce(dim_centre.active_from, 0) <= params.year
        and params.year <= coalesce(dim_centre.active_to, 9999)

),

reporting_centres as (

    select distinct submission.centre_code
    from submission
    inner join expected_centres
        on submission.centre_code = expected_centres.centre_code
    where submission.year = :year
        and submission.status in ('loaded', 'loaded_with_errors')

),

centre_counts as (

    select
        (select count(*) from expected_centres) as centres_expected,
        (select count(*) from reporting_centres) as centres_reporting

),

activities as (

    select
        modality_code,
        half_days,
        participants
    from fact_activity
    where year = :year

),

activity_totals as (

    select
        count(*) as n_activities,
        coalesce(sum(half_days), 0) as half_days,
        coalesce(sum(participants), 0) as participants,
        sum(case when modality_code = 'DISTANCIEL' then half_days else 0 end)
            as distanciel_half_days
    from activities

),

final as (

    select
        params.year as year,
        centre_counts.centres_expected as centres_expected,
        centre_counts.centres_reporting as centres_reporting,
        activity_totals.n_activities as n_activities,
        activity_totals.half_days as half_days,
        activity_totals.participants as participants,
        cast(100.0 * activity_totals.distanciel_half_days as double precision)
            / nullif(activity_totals.half_days, 0) as share_distanciel_pct
    from params
    cross join centre_counts
    cross join activity_totals

)

select * from final
