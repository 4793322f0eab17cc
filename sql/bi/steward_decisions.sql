-- Stewards' decisions with French labels, superseded ones included: one row per decision taken (steward_decision).
select
    steward_decision.decision_id as decision_id,
    steward_decision.year as year,
    steward_decision.centre_code as centre_code,
    dim_centre.name as centre_name, -- Name of the centre, in French (NULL when it could not be identified)
    steward_decision.file_sha256 as file_sha256,
    steward_decision.submission_id as submission_id,
    submission.file_name as file_name, -- Name of the file the decision is about, as received
    steward_decision.decision as decision,
    case steward_decision.decision
        when 'accept' then 'Accepter'
        when 'confirm' then 'Confirmer'
        when 'exclude' then 'Écarter'
        when 'approve' then 'Approuver'
        when 'reopen' then 'Rouvrir'
    end as decision_label, -- The decision in French: Accepter, Confirmer, Écarter, Approuver or Rouvrir
    steward_decision.subject as subject,
    steward_decision.reason as reason,
    steward_decision.decided_by as decided_by,
    steward_decision.decided_at as decided_at,
    steward_decision.superseded_by as superseded_by,
    case when steward_decision.superseded_by is null and steward_decision.decision <> 'reopen' then 1 else 0 end as in_force -- 1 while the decision is in force (neither superseded nor a reopening), else 0
from steward_decision
left join dim_centre
    on steward_decision.centre_code = dim_centre.centre_code
left join submission
    on steward_decision.submission_id = submission.submission_id
