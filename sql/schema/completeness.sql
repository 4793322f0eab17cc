-- Who has reported: one row per year and expected centre, with the state of its current submission.
create table if not exists completeness (
    year integer not null, -- Year reported
    centre_code text not null references dim_centre (centre_code), -- Expected centre
    status text not null check (status in ('missing', 'rejected', 'empty', 'loaded_with_errors', 'loaded')), -- missing (no file), rejected, empty (put in force but no activity loaded: no activity row, or none valid), loaded_with_errors or loaded: status of the current submission; only loaded and loaded_with_errors are exploitable returns
    submission_id integer references submission (submission_id), -- Current submission: the latest loaded one, else the latest rejected one (NULL when missing)
    received_at timestamp, -- When the current submission was received (UTC; NULL when missing)
    rows_loaded integer not null, -- Activity rows loaded from the current submission (0 when missing or rejected)
    n_errors integer not null, -- Errors found in the current submission (0 when missing)
    deadline date, -- Deadline for the year's returns, a day in Paris time (31 March of the following year unless configured otherwise; NULL only in rows derived by a version without deadlines)
    received_on_time boolean, -- Whether the current submission was received by the end of the deadline day, 23:59 Paris time (false: late; NULL when missing)
    held_submission_id integer references submission (submission_id), -- Latest submission received after the current one and held (no activity to load): not put in force, awaiting a steward's decision (NULL when none)
    approval text check (approval in ('received', 'reviewed', 'approved')), -- Where the stewards' review of the exploitable return stands: received (findings still open), reviewed (nothing open: ready to be approved) or approved (a steward approved this very file, by its SHA-256: a new file reopens it); NULL when the centre has no exploitable return
    open_findings integer, -- What awaits a steward on the current submission: its warnings neither accepted nor confirmed, its plausibility warnings not accepted, and a held resubmission (counts 1); NULL when the centre has no exploitable return
    primary key (year, centre_code)
);
