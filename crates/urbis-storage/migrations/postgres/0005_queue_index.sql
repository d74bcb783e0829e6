-- The overdue queue (overdue cases, highest priority first) reads this index in order instead of
-- scanning every case: at a million cases the scan took about a second.
CREATE INDEX IF NOT EXISTS cases_overdue_priority ON cases(overdue, priority_score, id);
