-- Pipeline runs that loaded a year (the audit trail): one row per run and year, with what the run found and did and the versions it ran with.
create table if not exists load_run (
    run_id text not null, -- Identifier of the pipeline run (the Dagster run id; submission.run_id names the run that recorded a file)
    year integer not null, -- Year the run processed (its partition)
    started_at timestamp not null, -- When the run started (UTC)
    finished_at timestamp, -- When the run had rebuilt the year's derived tables (UTC; NULL while it runs, or when it stopped before)
    files_seen integer not null, -- Returns found in the year's inbox folder
    files_read integer not null, -- Returns read and validated by this run; the others were known by their SHA-256 and taken as recorded
    submissions_loaded integer not null, -- Returns loaded: new submissions whose activities replaced the centre's previous ones
    submissions_rejected integer not null, -- Returns rejected: recorded with their findings, nothing loaded
    submissions_unchanged integer not null, -- Returns already recorded (same SHA-256, same outcome), left as they were
    submissions_deferred integer not null, -- Returns that changed after they were read, left for the next run
    pipeline_version text not null, -- Version of the crpv-pipeline package that ran
    reference_data_version text not null, -- Version of the reference lists (digest of the CSV files of crpv_pipeline/data)
    submissions_held integer, -- Returns held: no activity to load while the centre's submission in force has some; recorded, not put in force (NULL in rows of a version without held returns)
    primary key (run_id, year)
);
