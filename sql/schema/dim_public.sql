-- Target publics of contract §2.4: one row per public.
create table if not exists dim_public (
    public_code text not null primary key, -- Stable code of the public (for example ELUS)
    label text not null, -- Label shown to people, in French
    sort_order integer not null -- Position in the reference list, for display
);
