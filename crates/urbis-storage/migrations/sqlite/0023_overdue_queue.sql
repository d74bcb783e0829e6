-- The overdue queue's index holds the overdue cases only. The full index (overdue, priority_score,
-- id) also held every case on time, so each new case and each repeat that raised a case's priority
-- rewrote an entry in it: about a third of the pages a group of repeats wrote (issue 23). The
-- queue's query names `overdue = TRUE` literally, so that PostgreSQL's generic plans use it too.
DROP INDEX IF EXISTS cases_overdue_priority;
CREATE INDEX IF NOT EXISTS cases_overdue_queue ON cases(priority_score, id) WHERE overdue = TRUE;
