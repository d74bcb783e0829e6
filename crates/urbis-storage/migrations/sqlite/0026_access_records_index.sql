-- The owner's view of who read a shared resource (its `data_access` records, newest first) was
-- served by an index on (entity, entity_id, action) over every audit record, so each case record
-- added an entry too — a merge into an older case at a random place in it. `audit_log_entity`
-- (entity, entity_id, seq) serves that view as well: the resource's records newest first, without
-- a sort, the few that are not access records left out as they are read.
DROP INDEX IF EXISTS audit_log_entity_action;
