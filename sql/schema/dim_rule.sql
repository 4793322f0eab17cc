-- Validation rules of contract §4, with their French labels: one row per rule.
create table if not exists dim_rule (
    rule text not null primary key, -- Stable id of the rule, as in validation_failure.rule (for example half_days_out_of_range)
    label text not null, -- Label shown to people, in French (for example Demi-journées hors limites)
    level text not null, -- Where the rule applies: file (rejects the file), row (quarantines or flags the row) or year (plausibility: a centre's figures against its previous year or its peers, a warning computed with the year's tables)
    severity text not null, -- error or warning
    sort_order integer not null -- Position in the reference list, for display
);
