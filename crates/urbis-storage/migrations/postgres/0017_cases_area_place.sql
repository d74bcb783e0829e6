-- One index by area path, category and report time instead of two by path and by area id (SQLite
-- `0027_cases_area_place.sql` says why); the path keeps its pattern operator class for prefixes.
DROP INDEX IF EXISTS cases_place;
DROP INDEX IF EXISTS cases_area_path;
CREATE INDEX cases_area_place ON cases(area_path text_pattern_ops, category_id, created_at);
