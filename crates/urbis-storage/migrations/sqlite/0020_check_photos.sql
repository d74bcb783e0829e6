-- Photos taken at the on-site check (核查) are kept beside the reporter's and the handler's:
-- attachments.kind gains 'check'. SQLite cannot change a CHECK constraint, so the table is
-- rebuilt with the same columns, rows and indexes.
CREATE TABLE attachments_new (
    id           INTEGER PRIMARY KEY,
    case_id      INTEGER NOT NULL REFERENCES cases(id),
    kind         TEXT    NOT NULL CHECK (kind IN ('appeal', 'feedback', 'check')),
    mime         TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT    NOT NULL,
    uploaded_by  INTEGER REFERENCES users(id),
    created_at   TEXT    NOT NULL,
    bytes        BLOB    NOT NULL
);
INSERT INTO attachments_new (id, case_id, kind, mime, size, sha256, uploaded_by, created_at, bytes)
    SELECT id, case_id, kind, mime, size, sha256, uploaded_by, created_at, bytes FROM attachments;
DROP TABLE attachments;
ALTER TABLE attachments_new RENAME TO attachments;
CREATE INDEX attachments_case ON attachments(case_id, id);
CREATE INDEX attachments_uploader ON attachments(uploaded_by, created_at);
