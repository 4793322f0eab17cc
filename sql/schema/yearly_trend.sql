-- Year-on-year trend of the national figures: one row per year derived, with the change against the previous calendar year.
create table if not exists yearly_trend (
    year integer not null primary key, -- Year reported
    half_days integer not null, -- Total half-days (as in yearly_summary)
    n_activities integer not null, -- Number of loaded activities (as in yearly_summary)
    participants integer not null, -- Total participants (as in yearly_summary)
    half_days_change integer, -- Half-days minus those of the previous year (NULL when the previous year is not derived)
    half_days_change_pct double precision, -- Change of half-days against the previous year, in percent of the previous year (unrounded; NULL when the previous year is not derived or had none)
    n_activities_change integer, -- Activities minus those of the previous year (NULL when the previous year is not derived)
    n_activities_change_pct double precision, -- Change of activities against the previous year, in percent of the previous year (unrounded; NULL when the previous year is not derived or had none)
    participants_change integer, -- Participants minus those of the previous year (NULL when the previous year is not derived)
    participants_change_pct double precision -- Change of participants against the previous year, in percent of the previous year (unrounded; NULL when the previous year is not derived or had none)
);
