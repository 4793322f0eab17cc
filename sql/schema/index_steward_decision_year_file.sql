-- Serves finding the decisions in force on a year's files.
create index if not exists index_steward_decision_year_file on steward_decision (year, file_sha256);
