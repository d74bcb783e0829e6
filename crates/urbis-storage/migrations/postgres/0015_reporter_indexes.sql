-- The reporter indexes hold only the appeals and cases a resident filed (SQLite
-- `0025_reporter_indexes.sql` says why); `reporter_user_id = $1` implies the condition.
DROP INDEX IF EXISTS cases_reporter;
CREATE INDEX cases_reporter ON cases(reporter_user_id) WHERE reporter_user_id IS NOT NULL;
DROP INDEX IF EXISTS appeals_reporter;
CREATE INDEX appeals_reporter ON appeals(reporter_user_id) WHERE reporter_user_id IS NOT NULL;
