-- Stewards' decisions on the returns, the audit trail of their review: one row per decision taken, never deleted; a later decision on the same subject of the same file supersedes it.
create table if not exists steward_decision (
    decision_id integer not null primary key, -- Identifier assigned when the decision is recorded, in order
    year integer not null, -- Year reported
    centre_code text references dim_centre (centre_code), -- Centre whose return the decision is about (NULL for a file whose centre could not be identified)
    file_sha256 text not null, -- SHA-256 of the return the decision is about: the decision holds for those bytes only, a new file needs a new decision
    submission_id integer references submission (submission_id), -- The file's submission the steward decided on (its latest submission then)
    decision text not null check (decision in ('accept', 'confirm', 'exclude', 'approve', 'reopen')), -- accept (a warning was right), confirm (a held or shrinking return is put or kept in force), exclude (the file is left out of the year, the previous return stays in force), approve (the centre's return is approved for the bilan) or reopen (cancels the decision in force on the same subject)
    subject text not null, -- What the decision is about: the finding accepted (its key: rule@sheet!cell, rule@sheet:row, or the rule alone for a file-level finding; plausibility findings: rule@subject), return (confirm, exclude) or approval (approve)
    reason text not null, -- Why, in the steward's words (« Motif »)
    decided_by text not null, -- Who decided (the steward's name or login)
    decided_at timestamp not null, -- When the decision was recorded (UTC)
    superseded_by integer references steward_decision (decision_id) -- Later decision on the same file and subject that replaces this one (NULL while it is in force)
);
