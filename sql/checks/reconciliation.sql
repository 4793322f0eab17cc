-- Reconciliation of one year's derived tables with fact_activity: one row per measure,
-- with the value expected from fact_activity and the value the derived table holds.
with facts as (
    select
        count(*) as n_activities,
        coalesce(sum(half_days), 0) as half_days
    from fact_activity
    where year = :year
),

summary as (
    select
        coalesce(sum(n_activities), 0) as n_activities,
        coalesce(sum(half_days), 0) as half_days
    from yearly_summary
    where year = :year
),

themes as (
    select
        coalesce(sum(half_days), 0) as half_days,
        coalesce(sum(share_half_days_pct), 0) as share_pct
    from theme_shares
    where year = :year
),

counts as (
    select
        coalesce(sum(n_activities), 0) as n_activities,
        coalesce(sum(half_days), 0) as half_days
    from activity_counts
    where year = :year
),

modalities as (
    select coalesce(sum(half_days), 0) as half_days
    from modality_shares
    where year = :year
),

final as (
    select 'yearly_summary.half_days' as measure, facts.half_days as expected, summary.half_days as actual
    from facts cross join summary
    union all
    select 'yearly_summary.n_activities', facts.n_activities, summary.n_activities
    from facts cross join summary
    union all
    select 'theme_shares.half_days', facts.half_days, themes.half_days
    from facts cross join themes
    union all
    select 'theme_shares.share_half_days_pct', case when facts.half_days > 0 then 100 else 0 end, themes.share_pct
    from facts cross join themes
    union all
    select 'activity_counts.half_days', facts.half_days, counts.half_days
    from facts cross join counts
    union all
    select 'activity_counts.n_activities', facts.n_activities, counts.n_activities
    from facts cross join counts
    union all
    select 'modality_shares.half_days', facts.half_days, modalities.half_days
    from facts cross join modalities
)

select * from final
