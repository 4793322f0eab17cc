-- Share of each theme in the year's half-days: one row per year and theme of dim_theme, themes without activity included.
create table if not exists theme_shares (
    year integer not null, -- Year reported
    theme_code text not null references dim_theme (theme_code), -- Theme
    n_activities integer not null, -- Number of activities with this main theme
    half_days integer not null, -- Total half-days with this main theme
    share_half_days_pct double precision, -- Share of the year's half-days, in percent (0 to 100, unrounded; NULL when the year has none)
    primary key (year, theme_code)
);
