-- National figures of the bilan: one row per year derived (yearly_summary, as it is).
select
    yearly_summary.year as year,
    yearly_summary.centres_expected as centres_expected,
    yearly_summary.centres_reporting as centres_reporting,
    yearly_summary.n_activities as n_activities,
    yearly_summary.half_days as half_days,
    yearly_summary.participants as participants,
    yearly_summary.share_distanciel_pct as share_distanciel_pct,
    yearly_summary.centres_with_participants as centres_with_participants,
    yearly_summary.n_activities_with_participants as n_activities_with_participants
from yearly_summary
