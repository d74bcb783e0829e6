-- `audit_log_entity` (entity, entity_id, seq) serves the access records of a resource; the index
-- by action over every audit record goes (SQLite `0026_access_records_index.sql` says why).
DROP INDEX IF EXISTS audit_log_entity_action;
