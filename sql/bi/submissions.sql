-- Files received from the centres, with French labels: one row per file received, whatever became of it (submission).
select
    submission.submission_id as submission_id,
    submission.year as year,
    submission.centre_code as centre_code,
    dim_centre.name as centre_name, -- Name of the centre that sent the file, in French (NULL when it could not be identified)
    submission.file_name as file_name,
    submission.file_sha256 as file_sha256,
    submission.template_version as template_version,
    submission.received_at as received_at,
    submission.loaded_at as loaded_at,
    submission.status as status,
    case submission.status
        when 'loaded' then 'Chargé'
        when 'loaded_with_errors' then 'Chargé avec erreurs'
        when 'rejected' then 'Rejeté'
        when 'superseded' then 'Remplacé'
        when 'held' then 'En attente de décision'
        when 'excluded' then 'Écarté par un référent'
    end as status_label, -- Status of the file, in French: Chargé, Chargé avec erreurs, Rejeté, Remplacé, En attente de décision (held: not put in force, awaiting a steward's decision) or Écarté par un référent (excluded from the year by a steward's decision)
    submission.rows_read as rows_read,
    submission.rows_loaded as rows_loaded,
    submission.rows_rejected as rows_rejected,
    submission.n_errors as n_errors,
    submission.n_warnings as n_warnings,
    submission.run_id as run_id
from submission
left join dim_centre
    on submission.centre_code = dim_centre.centre_code
