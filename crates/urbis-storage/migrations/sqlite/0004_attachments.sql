-- Photos attached to a case (the reporter's evidence, the handler's proof of the fix). The bytes
-- live in the same SQLite file so that an attachment and its audit record commit together and a
-- backup is still one file. Limits (size, count, types) are enforced by the service.
CREATE TABLE attachments (
    id           INTEGER PRIMARY KEY,
    case_id      INTEGER NOT NULL REFERENCES cases(id),
    kind         TEXT    NOT NULL CHECK (kind IN ('appeal', 'feedback')),
    mime         TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT    NOT NULL,
    uploaded_by  INTEGER REFERENCES users(id),
    created_at   TEXT    NOT NULL,
    bytes        BLOB    NOT NULL
);
CREATE INDEX attachments_case ON attachments(case_id, id);
