-- Plausibility warnings with French labels and the stewards' decision on each: one row per centre, rule and subject of a year (plausibility_finding).
select
    plausibility_finding.year as year,
    plausibility_finding.centre_code as centre_code,
    dim_centre.name as centre_name, -- Name of the centre, in French
    plausibility_finding.rule as rule,
    coalesce(dim_rule.label, plausibility_finding.rule) as rule_label, -- The rule as people read it, in French (Demi-journées très différentes de l'an dernier)
    plausibility_finding.subject as subject,
    plausibility_finding.submission_id as submission_id,
    submission.file_name as file_name, -- Name of the file whose figures are judged (NULL when the centre sent nothing)
    plausibility_finding.file_sha256 as file_sha256,
    plausibility_finding.finding_key as finding_key,
    plausibility_finding.value as value,
    plausibility_finding.reference as reference,
    plausibility_finding.threshold as threshold,
    plausibility_finding.message as message,
    case when accepted.decision_id is null then 0 else 1 end as accepted, -- 1 when a steward accepted the warning for this file (steward_decision), else 0: the warning is open
    accepted.reason as accepted_reason -- Why the steward accepted it (NULL when open)
from plausibility_finding
inner join dim_centre
    on plausibility_finding.centre_code = dim_centre.centre_code
left join dim_rule
    on plausibility_finding.rule = dim_rule.rule
left join submission
    on plausibility_finding.submission_id = submission.submission_id
left join steward_decision as accepted
    on accepted.year = plausibility_finding.year
    and accepted.file_sha256 = plausibility_finding.file_sha256
    and accepted.subject = plausibility_finding.finding_key
    and accepted.decision = 'accept'
    and accepted.superseded_by is null
