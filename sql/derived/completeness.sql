-- Grain: one row per year and expected centre. The current submission of a centre is its latest
-- loaded (or loaded_with_errors) one, else its latest rejected one, else none (status missing).
-- A current submission put in force with no activity loaded is empty: no exploitable return.
-- held_submission_id: the centre's latest held submission (not put in force, awaiting a
-- steward's decision); a return put in force supersedes the held ones, so it is always later.
-- approval: received while findings are open (warnings of the current submission that no steward
-- accepted, nor confirmed for activities_dropped; plausibility warnings not accepted; a held
-- resubmission), reviewed when none is, approved when a steward approved the current file (its
-- SHA-256) and no resubmission is held. The key of a finding is that of decisions.finding_key.
-- received_on_time: received before the end of the deadline day in Paris time: received_at is UTC,
-- and so is the parameter received_before (midnight in Paris after the deadline day, as UTC).
with

params as (

    select
        cast(:year as integer) as year,
        :deadline as deadline,
        :received_before as received_before

),

expected_centres as (

    select dim_centre.centre_code
    from dim_centre
    cross join params
    where coalesce(dim_centre.active_from, 0) <= params.year
        and params.year <= coalesce(dim_centre.active_to, 9999)

),

latest_loaded as (

    select
        centre_code,
        max(submission_id) as submission_id
    from submission
    where year = :year
        and status in ('loaded', 'loaded_with_errors')
    group by centre_code

),

latest_rejected as (

    select
        centre_code,
        max(submission_id) as submission_id
    from submission
    where year = :year
        and status = 'rejected'
    group by centre_code

),

latest_held as (

    select
        centre_code,
        max(submission_id) as submission_id
    from submission
    where year = :year
        and status = 'held'
    group by centre_code

),

decisions as (

    select
        file_sha256,
        decision,
        subject
    from steward_decision
    where year = :year
        and superseded_by is null
        and decision <> 'reopen'

),

open_warnings as (

    select
        validation_failure.submission_id,
        count(*) as n_open
    from validation_failure
    inner join submission
        on validation_failure.submission_id = submission.submission_id
    where validation_failure.year = :year
        and validation_failure.severity = 'warning'
        and submission.status in ('loaded', 'loaded_with_errors')
        and not exists (
            select 1
            from decisions
            where decisions.file_sha256 = submission.file_sha256
                and (
                    (
                        decisions.decision = 'accept'
                        and decisions.subject = validation_failure.rule || coalesce(
                            '@' || validation_failure.sheet || coalesce(
                                '!' || validation_failure.cell,
                                ':' || cast(validation_failure.row_number as text),
                                ''
                            ),
                            ''
                        )
                    )
                    or (
                        decisions.decision = 'confirm'
                        and validation_failure.rule = 'activities_dropped'
                    )
                )
        )
    group by validation_failure.submission_id

),

open_plausibility as (

    select
        plausibility_finding.submission_id,
        count(*) as n_open
    from plausibility_finding
    where plausibility_finding.year = :year
        and plausibility_finding.submission_id is not null
        and not exists (
            select 1
            from decisions
            where decisions.file_sha256 = plausibility_finding.file_sha256
                and decisions.decision = 'accept'
                and decisions.subject = plausibility_finding.finding_key
        )
    group by plausibility_finding.submission_id

),

approved as (

    select distinct file_sha256
    from decisions
    where decision = 'approve'

),

current_submissions as (

    select
        expected_centres.centre_code,
        coalesce(latest_loaded.submission_id, latest_rejected.submission_id) as submission_id,
        latest_held.submission_id as held_submission_id
    from expected_centres
    left join latest_loaded
        on expected_centres.centre_code = latest_loaded.centre_code
    left join latest_rejected
        on expected_centres.centre_code = latest_rejected.centre_code
    left join latest_held
        on expected_centres.centre_code = latest_held.centre_code

),

final as (

    select
        params.year as year,
        current_submissions.centre_code as centre_code,
        case
            when submission.status in ('loaded', 'loaded_with_errors')
                and submission.rows_loaded = 0 then 'empty'
            else coalesce(submission.status, 'missing')
        end as status,
        submission.submission_id as submission_id,
        submission.received_at as received_at,
        coalesce(submission.rows_loaded, 0) as rows_loaded,
        coalesce(submission.n_errors, 0) as n_errors,
        params.deadline as deadline,
        submission.received_at < params.received_before as received_on_time,
        current_submissions.held_submission_id as held_submission_id,
        case
            when submission.status in ('loaded', 'loaded_with_errors')
                and submission.rows_loaded > 0 then
                case
                    when approved.file_sha256 is not null
                        and current_submissions.held_submission_id is null then 'approved'
                    when coalesce(open_warnings.n_open, 0) + coalesce(open_plausibility.n_open, 0) = 0
                        and current_submissions.held_submission_id is null then 'reviewed'
                    else 'received'
                end
        end as approval,
        case
            when submission.status in ('loaded', 'loaded_with_errors')
                and submission.rows_loaded > 0 then
                coalesce(open_warnings.n_open, 0)
                + coalesce(open_plausibility.n_open, 0)
                + case when current_submissions.held_submission_id is null then 0 else 1 end
        end as open_findings
    from current_submissions
    cross join params
    left join submission
        on current_submissions.submission_id = submission.submission_id
    left join open_warnings
        on current_submissions.submission_id = open_warnings.submission_id
    left join open_plausibility
        on current_submissions.submission_id = open_plausibility.submission_id
    left join approved
        on submission.file_sha256 = approved.file_sha256

)

select * from final
