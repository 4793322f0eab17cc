-- Year-on-year trend of the national figures: one row per year derived (yearly_trend, as it is).
select
    yearly_trend.year as year,
    yearly_trend.half_days as half_days,
    yearly_trend.n_activities as n_activities,
    yearly_trend.participants as participants,
    yearly_trend.half_days_change as half_days_change,
    yearly_trend.half_days_change_pct as half_days_change_pct,
    yearly_trend.n_activities_change as n_activities_change,
    yearly_trend.n_activities_change_pct as n_activities_change_pct,
    yearly_trend.participants_change as participants_change,
    yearly_trend.participants_change_pct as participants_change_pct,
    yearly_trend.centres_compared as centres_compared,
    yearly_trend.participants_centres_compared as participants_centres_compared
from yearly_trend
