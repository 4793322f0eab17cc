-- Grain: exactly one row per year, even when nothing was loaded (zeros, NULL share).
-- participants adds up the counts that were given: NULL when no centre gave any (unknown, not
-- zero); centres_with_participants and n_activities_with_participants say what it covers.
-- Reads completeness and activity_counts (the year's activities summed per centre, type and
-- modality), so it is derived after them.
with

params as (

    select cast(:year as integer) as year

),

centre_counts as (

    -- completeness is rebuilt first in the same transaction: one row per expected centre,
    -- with the status of its current submission. Only loaded and loaded_with_errors are
    -- exploitable returns: missing, rejected and empty ones (nothing loaded) are not counted.
    select
        count(*) as centres_expected,
        coalesce(sum(case when status in ('loaded', 'loaded_with_errors') then 1 else 0 end), 0)
            as centres_reporting
    from completeness
    where year = :year

),

activities as (

    select
        modality_code,
        centre_code,
        n_activities,
        half_days,
        participants,
        n_activities_with_participants
    from activity_counts
    where year = :year

),

activity_totals as (

    select
        coalesce(sum(n_activities), 0) as n_activities,
        coalesce(sum(half_days), 0) as half_days,
        sum(participants) as participants,
        count(distinct case when participants is not null then centre_code end)
            as centres_with_participants,
        coalesce(sum(n_activities_with_participants), 0) as n_activities_with_participants,
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
            / nullif(activity_totals.half_days, 0) as share_distanciel_pct,
        activity_totals.centres_with_participants as centres_with_participants,
        activity_totals.n_activities_with_participants as n_activities_with_participants
    from params
    cross join centre_counts
    cross join activity_totals

)

select * from final
