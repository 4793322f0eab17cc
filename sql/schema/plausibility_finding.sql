-- Plausibility warnings of a year: one row per centre, rule and subject whose figures look implausible against the centre's own previous year in force or against the other centres of the year; warnings only, never blocking, recomputed whenever the year's tables are rebuilt (thresholds in reference/data/plausibility.csv).
create table if not exists plausibility_finding (
    year integer not null, -- Year reported
    centre_code text not null references dim_centre (centre_code), -- Centre the warning is about
    rule text not null, -- Identifier of the plausibility rule (dim_rule, level year), for example plausibility_half_days_change
    subject text not null, -- What the warning is about: all (the centre's totals), return (no return this year), an activity type code or a theme code
    submission_id integer references submission (submission_id), -- The centre's submission in force, whose figures are judged (NULL when it sent nothing)
    file_sha256 text, -- SHA-256 of that submission's file: a steward accepts the warning for these bytes (NULL when it sent nothing)
    finding_key text not null, -- Key a steward's decision names to accept the warning: rule@subject
    value double precision, -- The centre's figure this year (NULL when it sent nothing)
    reference double precision, -- What it is compared with: the centre's figure of the previous year, or the median of the centres that year
    threshold double precision not null, -- Threshold of the rule it went beyond (percent, points or robust distance)
    message text not null, -- Message in French saying what looks implausible and what to check
    primary key (year, centre_code, rule, subject)
);
