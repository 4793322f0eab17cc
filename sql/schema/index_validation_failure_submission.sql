-- Serves listing the findings of a submission.
create index if not exists index_validation_failure_submission on validation_failure (submission_id);
