-- Resource centres of contract §3: one row per centre, with the years it is expected to report.
create table if not exists dim_centre (
    centre_code text not null primary key, -- Stable code of the centre (for example IREV)
    name text not null, -- Name of the centre, in French
    region text not null, -- Region or regions the centre covers
    active_from integer, -- First year the centre is expected to report (NULL: no lower bound)
    active_to integer, -- Last year the centre is expected to report (NULL: still active)
    sort_order integer not null -- Position in the reference list, for display
);
