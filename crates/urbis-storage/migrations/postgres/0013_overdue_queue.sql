-- The overdue queue's index holds the overdue cases only (SQLite `0023_overdue_queue.sql` says why).
DROP INDEX IF EXISTS cases_overdue_priority;
CREATE INDEX IF NOT EXISTS cases_overdue_queue ON cases(priority_score, id) WHERE overdue = TRUE;
