-- Year-on-year trend of the national figures: one row per year derived, with the change against the previous calendar year on the centres that reported both years.
create table if not exists yearly_trend (
    year integer not null primary key, -- Year reported
    half_days integer not null, -- Total half-days (as in yearly_summary)
    n_activities integer not null, -- Number of loaded activities (as in yearly_summary)
    participants integer, -- Total participants (as in yearly_summary; NULL when no centre gave any)
    half_days_change integer, -- Half-days minus those of the previous year (on the centres_compared centres; NULL when the previous year is not derived)
    half_days_change_pct double precision, -- Change of half-days against the previous year, in percent of the previous year, on the same centres (unrounded; NULL when the previous year is not derived or had none)
    n_activities_change integer, -- Activities minus those of the previous year (on the centres_compared centres; NULL when the previous year is not derived)
    n_activities_change_pct double precision, -- Change of activities against the previous year, in percent of the previous year, on the same centres (unrounded; NULL when the previous year is not derived or had none)
    participants_change integer, -- Participants minus those of the previous year (on the participants_centres_compared centres; NULL when the previous year is not derived)
    participants_change_pct double precision, -- Change of participants against the previous year, in percent of the previous year, on the same centres (unrounded; NULL when the previous year is not derived or had none)
    centres_compared integer, -- Centres that reported activities both this year and the previous one: the changes of half-days and activities compare them alone (NULL when the previous year is not derived)
    participants_centres_compared integer -- Centres that gave participants both this year and the previous one: the change of participants compares them alone (NULL when the previous year is not derived)
);
