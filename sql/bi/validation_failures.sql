-- Validation findings with French labels: one row per finding (error or warning) of a submission, superseded ones included (validation_failure).
select
    validation_failure.failure_id as failure_id,
    validation_failure.submission_id as submission_id,
    validation_failure.year as year,
    validation_failure.centre_code as centre_code,
    dim_centre.name as centre_name, -- Name of the centre that sent the file, in French (NULL when it could not be identified)
    submission.status as submission_status, -- Status of the submission the finding belongs to: superseded findings were fixed by a later file
    validation_failure.file_name as file_name,
    validation_failure.sheet as sheet,
    validation_failure.row_number as row_number,
    validation_failure.cell as cell,
    validation_failure.column_label as column_label,
    validation_failure.field as field,
    validation_failure.value as value,
    validation_failure.rule as rule,
    validation_failure.severity as severity,
    case validation_failure.severity
        when 'error' then 'Erreur'
        when 'warning' then 'Avertissement'
    end as severity_label, -- Severity in French: Erreur (row quarantined or file rejected) or Avertissement (row loaded)
    validation_failure.message as message,
    coalesce(dim_rule.label, validation_failure.rule) as rule_label, -- The rule as people read it, in French (Demi-journées hors limites); its id when the rule is not in dim_rule
    case when accepted.decision_id is null then 0 else 1 end as accepted, -- 1 when a steward accepted this warning for this file (steward_decision), else 0
    accepted.reason as accepted_reason -- Why the steward accepted it (NULL when not accepted)
from validation_failure
inner join submission
    on validation_failure.submission_id = submission.submission_id
left join steward_decision as accepted
    on accepted.year = validation_failure.year
    and accepted.file_sha256 = submission.file_sha256
    and accepted.decision = 'accept'
    and accepted.superseded_by is null
    and accepted.subject = validation_failure.rule || coalesce('@' || validation_failure.sheet || coalesce('!' || validation_failure.cell, ':' || cast(validation_failure.row_number as text), ''), '')
left join dim_centre
    on validation_failure.centre_code = dim_centre.centre_code
left join dim_rule
    on validation_failure.rule = dim_rule.rule
