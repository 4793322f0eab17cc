-- Serves the search for a centre's latest submission of a year.
create index if not exists index_submission_year_centre on submission (year, centre_code);
