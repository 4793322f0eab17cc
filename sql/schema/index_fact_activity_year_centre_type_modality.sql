-- Serves the derived tables (by year; activity_counts groups by centre, type and modality in
-- index order, without sorting the year's activities) and the replacement of a centre's
-- activities (by year and centre).
create index if not exists index_fact_activity_year_centre_type_modality on fact_activity (year, centre_code, activity_type_code, modality_code);
