-- Validation findings of contract §4: one row per finding (error or warning) of a submission.
create table if not exists validation_failure (
    failure_id integer not null primary key, -- Identifier assigned by the loader
    submission_id integer not null references submission (submission_id), -- Submission (file) the finding belongs to
    year integer not null, -- Year reported
    centre_code text references dim_centre (centre_code), -- Centre that sent the file (NULL when it could not be identified)
    file_name text not null, -- Name of the file as received
    sheet text, -- Sheet name (NULL for a finding about the whole file)
    row_number integer, -- Row number in the sheet (1-based, as the centre sees it; NULL for a file-level finding)
    cell text, -- Cell reference, for example D14 (NULL when the finding is not about one cell)
    column_label text, -- Column label as written in the file
    field text, -- Field name of the contract (for example half_days)
    value text, -- Value as written in the file
    rule text not null, -- Identifier of the rule that was broken (for example date_invalid)
    severity text not null check (severity in ('error', 'warning')), -- error (row quarantined or file rejected) or warning (row loaded)
    message text not null -- Message in French telling the centre how to fix it
);
