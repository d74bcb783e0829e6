-- Core schema of Urbis: reference data, users, cases, appeals, audit chain, statistics.
-- Times are RFC 3339 UTC strings with microseconds ("2026-11-23T10:00:00.000000Z"), so they sort as text.

CREATE TABLE areas (
    id          INTEGER PRIMARY KEY,
    code        TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    level       TEXT    NOT NULL,
    parent_id   INTEGER REFERENCES areas(id),
    path        TEXT    NOT NULL,
    geometry    TEXT,
    center_lat  REAL,
    center_lon  REAL
);
CREATE INDEX areas_parent ON areas(parent_id);
CREATE INDEX areas_path ON areas(path);

CREATE TABLE departments (
    id       INTEGER PRIMARY KEY,
    code     TEXT NOT NULL UNIQUE,
    name     TEXT NOT NULL,
    area_id  INTEGER REFERENCES areas(id)
);

CREATE TABLE categories (
    id         INTEGER PRIMARY KEY,
    code       TEXT    NOT NULL UNIQUE,
    name       TEXT    NOT NULL,
    level      INTEGER NOT NULL,
    parent_id  INTEGER REFERENCES categories(id),
    severity   REAL    NOT NULL DEFAULT 0.5
);
CREATE INDEX categories_parent ON categories(parent_id);

-- Handling time limit per category; the most specific ancestor's row applies.
CREATE TABLE time_limits (
    category_id  INTEGER PRIMARY KEY REFERENCES categories(id),
    clock        TEXT    NOT NULL,
    amount       INTEGER NOT NULL,
    remind_before_minutes INTEGER NOT NULL DEFAULT 60
);

-- Working calendar: exceptions to Monday–Friday.
CREATE TABLE calendar_days (
    day   TEXT PRIMARY KEY,
    kind  TEXT NOT NULL CHECK (kind IN ('holiday', 'workday')),
    note  TEXT NOT NULL DEFAULT ''
);

CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);

CREATE TABLE responsibility_versions (
    id          INTEGER PRIMARY KEY,
    note        TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    created_by  INTEGER,
    active      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE responsibility_rules (
    id            INTEGER PRIMARY KEY,
    version_id    INTEGER NOT NULL REFERENCES responsibility_versions(id),
    category_id   INTEGER NOT NULL REFERENCES categories(id),
    area_id       INTEGER NOT NULL REFERENCES areas(id),
    lead_dept_id  INTEGER NOT NULL REFERENCES departments(id),
    supporting    TEXT    NOT NULL DEFAULT '',
    legal_basis   TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX responsibility_rules_lookup ON responsibility_rules(version_id, category_id, area_id);

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    username       TEXT    NOT NULL UNIQUE,
    display_name   TEXT    NOT NULL,
    password_hash  TEXT    NOT NULL,
    role           TEXT    NOT NULL,
    area_id        INTEGER REFERENCES areas(id),
    dept_id        INTEGER REFERENCES departments(id),
    active         INTEGER NOT NULL DEFAULT 1,
    created_at     TEXT    NOT NULL
);

CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);

CREATE TABLE cases (
    id                INTEGER PRIMARY KEY,
    number            TEXT    NOT NULL UNIQUE,
    state             TEXT    NOT NULL,
    channel           TEXT    NOT NULL,
    title             TEXT    NOT NULL,
    text              TEXT    NOT NULL,
    address           TEXT    NOT NULL,
    lat               REAL,
    lon               REAL,
    category_id       INTEGER REFERENCES categories(id),
    area_id           INTEGER NOT NULL REFERENCES areas(id),
    area_path         TEXT    NOT NULL,
    lead_dept_id      INTEGER REFERENCES departments(id),
    supporting_depts  TEXT    NOT NULL DEFAULT '',
    reporter_user_id  INTEGER REFERENCES users(id),
    reporter_name     TEXT    NOT NULL DEFAULT '',
    reporter_phone    TEXT    NOT NULL DEFAULT '',
    reporter_count    INTEGER NOT NULL DEFAULT 1,
    urgent            INTEGER NOT NULL DEFAULT 0,
    pending_kind      TEXT,
    pending_amount    INTEGER,
    clock             TEXT,
    limit_amount      INTEGER,
    clock_started_at  TEXT,
    due_at            TEXT,
    response_due_at   TEXT,
    accepted_at       TEXT,
    feedback_at       TEXT,
    handled_on_time   INTEGER,
    overdue           INTEGER NOT NULL DEFAULT 0,
    reminded          INTEGER NOT NULL DEFAULT 0,
    supervise_count   INTEGER NOT NULL DEFAULT 0,
    rework_count      INTEGER NOT NULL DEFAULT 0,
    return_count      INTEGER NOT NULL DEFAULT 0,
    closure_type      TEXT,
    closed_at         TEXT,
    satisfaction      TEXT,
    resolved          INTEGER,
    rated_at          TEXT,
    stats_day         TEXT    NOT NULL,
    created_at        TEXT    NOT NULL,
    updated_at        TEXT    NOT NULL,
    version           INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX cases_state_due ON cases(state, due_at);
CREATE INDEX cases_area_path ON cases(area_path, id);
CREATE INDEX cases_lead_dept ON cases(lead_dept_id, state);
CREATE INDEX cases_reporter ON cases(reporter_user_id);
CREATE INDEX cases_created ON cases(created_at);

-- Intervals during which a case's clock does not run (pending requests, parking, awaiting check).
CREATE TABLE case_pauses (
    id        INTEGER PRIMARY KEY,
    case_id   INTEGER NOT NULL REFERENCES cases(id),
    reason    TEXT    NOT NULL,
    start_at  TEXT    NOT NULL,
    end_at    TEXT
);
CREATE INDEX case_pauses_case ON case_pauses(case_id);

CREATE TABLE appeals (
    id                INTEGER PRIMARY KEY,
    case_id           INTEGER NOT NULL REFERENCES cases(id),
    channel           TEXT    NOT NULL,
    title             TEXT    NOT NULL,
    text              TEXT    NOT NULL,
    reporter_user_id  INTEGER REFERENCES users(id),
    reporter_name     TEXT    NOT NULL,
    reporter_phone    TEXT    NOT NULL,
    idempotency_key   TEXT,
    created_at        TEXT    NOT NULL
);
CREATE UNIQUE INDEX appeals_idempotency ON appeals(idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX appeals_case ON appeals(case_id);

CREATE TABLE notifications (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases(id),
    dept_id     INTEGER,
    user_id     INTEGER,
    kind        TEXT    NOT NULL,
    message     TEXT    NOT NULL,
    created_at  TEXT    NOT NULL
);
CREATE INDEX notifications_dept ON notifications(dept_id, id);

-- The tamper-evident audit chain (see urbis_domain::audit).
CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY,
    at          TEXT    NOT NULL,
    actor_id    INTEGER,
    actor_role  TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    entity      TEXT    NOT NULL,
    entity_id   INTEGER NOT NULL,
    from_state  TEXT    NOT NULL,
    to_state    TEXT    NOT NULL,
    detail      TEXT    NOT NULL,
    prev_hash   TEXT    NOT NULL,
    hash        TEXT    NOT NULL
);
CREATE INDEX audit_log_entity ON audit_log(entity, entity_id, seq);

-- Event counters by the case's report day (cohort), kept in the same transaction as each change.
-- dim is 'area' (dim_id = the case's area) or 'dept' (dim_id = the department acting as lead).
CREATE TABLE stats_daily (
    day          TEXT    NOT NULL,
    dim          TEXT    NOT NULL,
    dim_id       INTEGER NOT NULL,
    category_id  INTEGER NOT NULL,
    metric       TEXT    NOT NULL,
    n            INTEGER NOT NULL,
    PRIMARY KEY (day, dim, dim_id, category_id, metric)
);

-- Current number of cases per state, kept by +1/-1 on every transition.
CREATE TABLE case_state_counts (
    area_id      INTEGER NOT NULL,
    dept_id      INTEGER NOT NULL,
    category_id  INTEGER NOT NULL,
    state        TEXT    NOT NULL,
    overdue      INTEGER NOT NULL,
    n            INTEGER NOT NULL,
    PRIMARY KEY (area_id, dept_id, category_id, state, overdue)
);
