-- Serves the derived tables (by year) and the replacement of a centre's activities (by year and centre).
create index if not exists index_fact_activity_year_centre on fact_activity (year, centre_code);
