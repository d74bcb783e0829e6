-- Co-handling (issue 20): supporting departments' sub-tasks (协办), responsibility disputes (推诿)
-- with arbitration, outside partners and the tasks offered to their pool.

-- One sub-task per supporting department of a dispatch; `active` is cleared when the case is
-- returned, reopened or dispatched again, so a case's current sub-tasks are its active rows.
CREATE TABLE case_subtasks (
    id              INTEGER PRIMARY KEY,
    case_id         INTEGER NOT NULL REFERENCES cases(id),
    dept_id         INTEGER NOT NULL REFERENCES departments(id),
    state           TEXT    NOT NULL,
    active          INTEGER NOT NULL DEFAULT 1,
    clock           TEXT    NOT NULL,
    limit_amount    INTEGER NOT NULL,
    created_at      TEXT    NOT NULL,
    due_at          TEXT,
    accepted_at     TEXT,
    done_at         TEXT,
    note            TEXT    NOT NULL DEFAULT '',
    on_time         INTEGER,
    reminded        INTEGER NOT NULL DEFAULT 0,
    overdue         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX case_subtasks_case ON case_subtasks(case_id, active);
CREATE INDEX case_subtasks_dept ON case_subtasks(dept_id, active, state);
CREATE INDEX case_subtasks_due ON case_subtasks(active, overdue, due_at);

CREATE TABLE responsibility_disputes (
    id               INTEGER PRIMARY KEY,
    case_id          INTEGER NOT NULL REFERENCES cases(id),
    dept_id          INTEGER NOT NULL REFERENCES departments(id),
    category_id      INTEGER,
    area_id          INTEGER NOT NULL,
    rule_id          INTEGER NOT NULL REFERENCES responsibility_rules(id),
    reason           TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    opened_by        INTEGER REFERENCES users(id),
    opened_at        TEXT    NOT NULL,
    due_at           TEXT    NOT NULL,
    escalated        INTEGER NOT NULL DEFAULT 0,
    ruled_by         INTEGER REFERENCES users(id),
    ruled_at         TEXT,
    lead_dept_id     INTEGER REFERENCES departments(id),
    supporting       TEXT    NOT NULL DEFAULT '',
    ruling           TEXT    NOT NULL DEFAULT '',
    on_time          INTEGER,
    draft_version_id INTEGER REFERENCES responsibility_versions(id)
);
CREATE INDEX responsibility_disputes_state ON responsibility_disputes(state, due_at);
CREATE INDEX responsibility_disputes_case ON responsibility_disputes(case_id);

-- A draft version is prepared (by rulings) and becomes active only when its owner publishes it.
ALTER TABLE responsibility_versions ADD COLUMN draft INTEGER NOT NULL DEFAULT 0;

-- A partner organisation is a department row with a kind and grants (area subtree × category).
CREATE TABLE partners (
    dept_id     INTEGER PRIMARY KEY REFERENCES departments(id),
    kind        TEXT    NOT NULL,
    created_at  TEXT    NOT NULL
);
CREATE TABLE partner_grants (
    id           INTEGER PRIMARY KEY,
    dept_id      INTEGER NOT NULL REFERENCES partners(dept_id),
    area_id      INTEGER NOT NULL REFERENCES areas(id),
    category_id  INTEGER REFERENCES categories(id)
);
CREATE INDEX partner_grants_dept ON partner_grants(dept_id);

-- Registered cases offered to the partners of their place.
CREATE TABLE case_pool (
    case_id     INTEGER PRIMARY KEY REFERENCES cases(id),
    offered_by  INTEGER REFERENCES users(id),
    offered_at  TEXT    NOT NULL
);
