-- Themes of contract §2.3, grouped by pillar of the contrats de ville: one row per theme.
create table if not exists dim_theme (
    theme_code text not null primary key, -- Stable code of the theme (for example EDUCATION)
    label text not null, -- Label shown to people, in French
    pillar text not null, -- Pillar of the contrats de ville the theme belongs to, in French
    pillar_order integer not null, -- Position of the pillar in the reference list, for display
    sort_order integer not null -- Position of the theme in the reference list, for display
);
