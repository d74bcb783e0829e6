-- The reporter indexes hold the appeals and cases a resident filed, not the anonymous ones (hotline,
-- grid, sensor and web appeals without an account, most of a 12345 line's). Every query on them
-- asks `reporter_user_id = ?`, which implies the index's condition, so each still reads it; intake
-- no longer adds an entry for every anonymous case and appeal (issue 23).
DROP INDEX IF EXISTS cases_reporter;
CREATE INDEX cases_reporter ON cases(reporter_user_id) WHERE reporter_user_id IS NOT NULL;
DROP INDEX IF EXISTS appeals_reporter;
CREATE INDEX appeals_reporter ON appeals(reporter_user_id) WHERE reporter_user_id IS NOT NULL;
