-- "Was it fixed?" (issue 21): after a case closes, its reporter and the residents following it
-- answer once each whether the problem was really fixed.
CREATE TABLE case_followups (
    case_id      INTEGER NOT NULL REFERENCES cases(id),
    user_id      INTEGER NOT NULL REFERENCES users(id),
    fixed        INTEGER NOT NULL,
    -- True when the answer is the first reporter's (a "not fixed" from them goes to the shift lead).
    reporter     INTEGER NOT NULL,
    answered_at  TEXT    NOT NULL,
    PRIMARY KEY (case_id, user_id)
);
CREATE INDEX case_followups_at ON case_followups(answered_at);
