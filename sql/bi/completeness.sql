-- Who has reported and who was late, with French labels and the file behind the figures: one row per year and expected centre (completeness).
select
    completeness.year as year,
    completeness.centre_code as centre_code,
    dim_centre.name as centre_name, -- Name of the expected centre, in French
    dim_centre.region as centre_region, -- Region or regions the centre covers
    completeness.status as status,
    case completeness.status
        when 'missing' then 'Manquant'
        when 'rejected' then 'Rejeté'
        when 'empty' then 'Vide'
        when 'loaded_with_errors' then 'Chargé avec erreurs'
        when 'loaded' then 'Chargé'
    end as status_label, -- Status of the current submission, in French: Manquant, Rejeté, Vide (no activity loaded: no exploitable return), Chargé avec erreurs or Chargé
    completeness.submission_id as submission_id,
    submission.file_name as file_name, -- Name of the current submission's file as received (NULL when missing)
    submission.file_sha256 as file_sha256, -- SHA-256 of the current submission's file (NULL when missing)
    completeness.received_at as received_at,
    completeness.rows_loaded as rows_loaded,
    submission.rows_rejected as rows_rejected, -- Activity rows of the current submission not loaded: quarantined rows, or every row of a rejected file (NULL when missing)
    completeness.n_errors as n_errors,
    submission.n_warnings as n_warnings, -- Warnings found in the current submission (NULL when missing)
    completeness.held_submission_id as held_submission_id,
    held.file_name as held_file_name, -- Name of the held submission's file: received after the current one, not put in force, awaiting a steward's decision (NULL when none)
    completeness.deadline as deadline, -- Date the year's returns were due: a day in Paris time, a return is on time until 23:59 Paris time that day (31 March of the following year unless CRPV_DEADLINES says otherwise)
    completeness.received_on_time as received_on_time, -- Whether the current submission came on time: received_at before the end of the deadline day in Paris time (false: late; NULL when missing, nothing received)
    completeness.approval as approval,
    case completeness.approval
        when 'received' then 'À examiner'
        when 'reviewed' then 'À approuver'
        when 'approved' then 'Approuvé'
    end as approval_label, -- Where the stewards' review stands, in French: À examiner (findings still open), À approuver (nothing open) or Approuvé (NULL when no exploitable return)
    completeness.open_findings as open_findings
from completeness
inner join dim_centre
    on completeness.centre_code = dim_centre.centre_code
left join submission
    on completeness.submission_id = submission.submission_id
left join submission as held
    on completeness.held_submission_id = held.submission_id
