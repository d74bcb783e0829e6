-- Photos taken at the on-site check (核查) are kept beside the reporter's and the handler's.
ALTER TABLE attachments DROP CONSTRAINT attachments_kind_check;
ALTER TABLE attachments ADD CONSTRAINT attachments_kind_check CHECK (kind IN ('appeal', 'feedback', 'check'));
