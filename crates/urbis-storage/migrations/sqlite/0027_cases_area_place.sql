-- A case's area was indexed twice: by path (the listings and figures of an area and everything in it)
-- and by area id, category and report time (how many cases of a category were reported at a place
-- lately, read for every appeal at intake). Every new case added an entry at a random place in
-- both. One index by path, category and time serves both: the place's count asks for the area's
-- exact path, which each case stores.
DROP INDEX IF EXISTS cases_place;
DROP INDEX IF EXISTS cases_area_path;
CREATE INDEX cases_area_place ON cases(area_path, category_id, created_at);
