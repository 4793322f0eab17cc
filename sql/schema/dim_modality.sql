-- Modalities of contract §2.2 (in person, remote, hybrid): one row per modality.
create table if not exists dim_modality (
    modality_code text not null primary key, -- Stable code of the modality (PRESENTIEL, DISTANCIEL or HYBRIDE)
    label text not null, -- Label shown to people, in French
    sort_order integer not null -- Position in the reference list, for display
);
