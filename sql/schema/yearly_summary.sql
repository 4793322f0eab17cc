-- National figures of the bilan: one row per year, for every year derived.
create table if not exists yearly_summary (
    year integer not null primary key, -- Year reported
    centres_expected integer not null, -- Centres expected to report for the year (dim_centre active_from to active_to)
    centres_reporting integer not null, -- Expected centres whose current submission is loaded or loaded_with_errors
    n_activities integer not null, -- Number of loaded activities
    half_days integer not null, -- Total half-days (equals the sum of fact_activity.half_days for the year)
    participants integer, -- Total participants of the activities that give a count (NULL when none does: unknown, not zero)
    share_distanciel_pct double precision, -- Share of half-days held remotely (modality DISTANCIEL; HYBRIDE not counted), in percent (0 to 100, unrounded; NULL when the year has none)
    centres_with_participants integer, -- Centres that gave the number of participants of at least one activity: participants covers them alone
    n_activities_with_participants integer -- Activities whose number of participants is given: participants covers them alone
);
