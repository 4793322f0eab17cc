-- Theme shares with French labels and pillars: one row per year and theme of dim_theme, themes without activity included (theme_shares).
select
    theme_shares.year as year,
    theme_shares.theme_code as theme_code,
    dim_theme.label as theme, -- Theme, as shown to people (French label)
    dim_theme.pillar as pillar,
    dim_theme.pillar_order as pillar_order,
    dim_theme.sort_order as theme_order, -- Position of the theme in the reference list, for display
    theme_shares.n_activities as n_activities,
    theme_shares.half_days as half_days,
    theme_shares.share_half_days_pct as share_half_days_pct
from theme_shares
inner join dim_theme
    on theme_shares.theme_code = dim_theme.theme_code
