-- Residents in the loop (issue 21): phone accounts, one-time codes, the notification outbox and
-- its delivery log, the local sink, the knowledge base of policy answers and consultations, and
-- community deliberation.

-- A resident's verified phone (set by a one-time code) and whether they hear anything at all.
CREATE TABLE resident_profiles (
    user_id     INTEGER PRIMARY KEY REFERENCES users(id),
    phone       TEXT    NOT NULL UNIQUE,
    opted_out   INTEGER NOT NULL DEFAULT 0,
    updated_at  TEXT    NOT NULL
);
-- The channels a resident chose, each with its address (phone, e-mail, WeChat openid).
CREATE TABLE resident_channels (
    user_id     INTEGER NOT NULL REFERENCES users(id),
    channel     TEXT    NOT NULL,
    address     TEXT    NOT NULL,
    PRIMARY KEY (user_id, channel)
);
-- One-time codes: the phone and the client address only as SHA-256, the code only salted and hashed.
CREATE TABLE otp_codes (
    id           INTEGER PRIMARY KEY,
    phone_hash   TEXT    NOT NULL,
    client_hash  TEXT    NOT NULL,
    code_hash    TEXT    NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT    NOT NULL,
    expires_at   TEXT    NOT NULL,
    used_at      TEXT
);
CREATE INDEX otp_codes_phone ON otp_codes(phone_hash, created_at);
CREATE INDEX otp_codes_client ON otp_codes(client_hash, created_at);
-- Every message to a person, written in the transaction of its event; `dedup_key` makes an event
-- enqueue once per channel. The worker claims a row by moving `next_attempt_at` past a lease.
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    user_id          INTEGER,
    channel          TEXT    NOT NULL,
    address          TEXT    NOT NULL,
    kind             TEXT    NOT NULL,
    case_id          INTEGER,
    body             TEXT    NOT NULL,
    dedup_key        TEXT    NOT NULL UNIQUE,
    state            TEXT    NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT    NOT NULL,
    last_error       TEXT,
    created_at       TEXT    NOT NULL,
    sent_at          TEXT
);
CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
CREATE INDEX outbox_user ON outbox(user_id, id);
CREATE TABLE outbox_deliveries (
    id          INTEGER PRIMARY KEY,
    outbox_id   INTEGER NOT NULL REFERENCES outbox(id),
    attempt     INTEGER NOT NULL,
    adapter     TEXT    NOT NULL,
    ok          INTEGER NOT NULL,
    detail      TEXT    NOT NULL,
    at          TEXT    NOT NULL
);
CREATE INDEX outbox_deliveries_message ON outbox_deliveries(outbox_id);
-- What the local sink adapter received (demo and tests): one row per delivered message.
CREATE TABLE sink_messages (
    id          INTEGER PRIMARY KEY,
    outbox_id   INTEGER NOT NULL UNIQUE REFERENCES outbox(id),
    channel     TEXT    NOT NULL,
    address     TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    created_at  TEXT    NOT NULL
);
CREATE INDEX sink_messages_address ON sink_messages(address, id);

-- The appeal type (诉求类型) given at intake, one row per case that had one.
CREATE TABLE case_appeal_types (
    case_id      INTEGER PRIMARY KEY REFERENCES cases(id),
    appeal_type  TEXT    NOT NULL
);

-- One-stop answers (一次性答复): policy answers and the consultations answered from them.
CREATE TABLE kb_answers (
    id          INTEGER PRIMARY KEY,
    question    TEXT    NOT NULL,
    answer      TEXT    NOT NULL,
    dept_id     INTEGER REFERENCES departments(id),
    keywords    TEXT    NOT NULL,
    valid_from  TEXT    NOT NULL,
    valid_to    TEXT,
    created_at  TEXT    NOT NULL
);
CREATE TABLE consultations (
    id           INTEGER PRIMARY KEY,
    kb_id        INTEGER REFERENCES kb_answers(id),
    appeal_type  TEXT    NOT NULL,
    question     TEXT    NOT NULL,
    answer       TEXT    NOT NULL,
    channel      TEXT    NOT NULL,
    operator_id  INTEGER REFERENCES users(id),
    created_at   TEXT    NOT NULL
);
CREATE INDEX consultations_time ON consultations(created_at);

-- Community deliberation (协商议事).
CREATE TABLE proposals (
    id              INTEGER PRIMARY KEY,
    community_id    INTEGER NOT NULL REFERENCES areas(id),
    author_id       INTEGER NOT NULL REFERENCES users(id),
    title           TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    supports        INTEGER NOT NULL DEFAULT 0,
    threshold       INTEGER NOT NULL,
    outcome_reason  TEXT,
    case_id         INTEGER REFERENCES cases(id),
    created_at      TEXT    NOT NULL,
    agenda_at       TEXT,
    decided_at      TEXT
);
CREATE INDEX proposals_community ON proposals(community_id, id);
CREATE TABLE proposal_supports (
    proposal_id  INTEGER NOT NULL REFERENCES proposals(id),
    user_id      INTEGER NOT NULL REFERENCES users(id),
    created_at   TEXT    NOT NULL,
    PRIMARY KEY (proposal_id, user_id)
);
CREATE TABLE proposal_comments (
    id           INTEGER PRIMARY KEY,
    proposal_id  INTEGER NOT NULL REFERENCES proposals(id),
    user_id      INTEGER NOT NULL REFERENCES users(id),
    body         TEXT    NOT NULL,
    created_at   TEXT    NOT NULL
);
CREATE INDEX proposal_comments_proposal ON proposal_comments(proposal_id, id);

-- Opinion collection (征集意见): a question with options and/or free text, open for a period;
-- results are published after it closes with cells below `min_cell` suppressed.
CREATE TABLE opinion_polls (
    id          INTEGER PRIMARY KEY,
    area_id     INTEGER REFERENCES areas(id),
    title       TEXT    NOT NULL,
    question    TEXT    NOT NULL,
    options     TEXT    NOT NULL,
    allow_text  INTEGER NOT NULL,
    min_cell    INTEGER NOT NULL,
    opens_at    TEXT NOT NULL,
    closes_at   TEXT NOT NULL,
    created_by  INTEGER REFERENCES users(id),
    created_at  TEXT NOT NULL
);
CREATE TABLE opinion_answers (
    poll_id     INTEGER NOT NULL REFERENCES opinion_polls(id),
    user_id     INTEGER NOT NULL REFERENCES users(id),
    option_idx  INTEGER,
    text        TEXT    NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (poll_id, user_id)
);
