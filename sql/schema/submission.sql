-- Files received from the centres: one row per file received, whatever became of it.
create table if not exists submission (
    submission_id integer not null primary key, -- Identifier assigned by the loader, in order of loading
    year integer not null, -- Year reported (the year folder of the inbox)
    centre_code text references dim_centre (centre_code), -- Centre that sent the file (NULL when it could not be identified; the file is then rejected)
    file_name text not null, -- Name of the file as received
    file_sha256 text not null, -- SHA-256 of the file's bytes, in hexadecimal; an identical file is not loaded twice
    template_version text, -- Template version stated in the workbook (NULL when not stated)
    received_at timestamp not null, -- When the file was received (UTC)
    loaded_at timestamp not null, -- When the loader recorded the file (UTC)
    status text not null check (status in ('loaded', 'loaded_with_errors', 'rejected', 'superseded', 'held', 'excluded')), -- loaded, loaded_with_errors (some rows quarantined), rejected (nothing loaded), superseded (replaced by a later file), excluded (left out of the year by a steward's decision: its activities are not in force, later runs ignore the file) or held (no activity to load while the centre's submission in force has some: not put in force, that one stays until a steward decides; a decision puts it in force as loaded or loaded_with_errors)
    rows_read integer not null, -- Activity rows read from the file, blank rows excluded
    rows_loaded integer not null, -- Activity rows loaded into fact_activity (0 when rejected or held)
    rows_rejected integer not null, -- Activity rows not loaded: quarantined rows, or every row of a rejected file
    n_errors integer not null, -- Number of findings of severity error
    n_warnings integer not null, -- Number of findings of severity warning
    run_id text not null, -- Identifier of the pipeline run that loaded the file (see load_run)
    replaces_submission_id integer references submission (submission_id), -- Submission this file superseded: the centre's previous current one for the year (NULL for a first return and for a rejected or held file)
    activities_added integer, -- Activities of this file that the superseded submission did not have; an activity is known by its date and title (NULL when it superseded nothing)
    activities_removed integer, -- Activities of the superseded submission that this file no longer has (NULL when it superseded nothing)
    activities_changed integer, -- Activities present in both whose other fields differ: title as written, type, modality, theme, half-days, participants, department, partners, comment or publics (NULL when it superseded nothing)
    half_days_before integer, -- Half-days of the superseded submission (NULL when it superseded nothing)
    half_days_after integer -- Half-days loaded from this file (NULL when rejected or held)
);
