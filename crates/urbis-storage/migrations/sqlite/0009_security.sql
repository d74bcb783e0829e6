-- Security hardening (issue 13).
-- Usernames are unique without regard to ASCII case (`ADMIN` cannot sit beside `admin`); lookups
-- use lower(username) and so this index.
CREATE UNIQUE INDEX users_username_lower ON users(lower(username));
-- Expired sessions are purged by expiry.
CREATE INDEX sessions_expires ON sessions(expires_at);
-- Anonymous repeat reports merged into a case: counted in reporter_count, but only the first few
-- raise its priority.
ALTER TABLE cases ADD COLUMN anonymous_repeats INTEGER NOT NULL DEFAULT 0;
-- Per-user daily photo quota: bytes uploaded by a user since a time.
CREATE INDEX attachments_uploader ON attachments(uploaded_by, created_at);
