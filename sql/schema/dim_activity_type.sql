-- Activity types of contract §2.1: one row per activity type.
create table if not exists dim_activity_type (
    activity_type_code text not null primary key, -- Stable code of the activity type (for example FORMATION)
    label text not null, -- Label shown to people, in French
    sort_order integer not null -- Position in the reference list, for display
);
