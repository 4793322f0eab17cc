-- Who has reported: one row per year and expected centre, with the state of its current submission.
create table if not exists completeness (
    year integer not null, -- Year reported
    centre_code text not null references dim_centre (centre_code), -- Expected centre
    status text not null check (status in ('missing', 'rejected', 'loaded_with_errors', 'loaded')), -- missing (no file), rejected, loaded_with_errors or loaded: status of the current submission
    submission_id integer references submission (submission_id), -- Current submission: the latest loaded one, else the latest rejected one (NULL when missing)
    received_at timestamp, -- When the current submission was received (UTC; NULL when missing)
    rows_loaded integer not null, -- Activity rows loaded from the current submission (0 when missing or rejected)
    n_errors integer not null, -- Errors found in the current submission (0 when missing)
    deadline date, -- Deadline for the year's returns, a day in Paris time (31 March of the following year unless configured otherwise; NULL only in rows derived by a version without deadlines)
    received_on_time boolean, -- Whether the current submission was received by the end of the deadline day, 23:59 Paris time (NULL when missing)
    primary key (year, centre_code)
);
