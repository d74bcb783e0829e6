-- Intake intelligence, second part: the classifier's top suggestions, the review flag of unsure
-- cases, the route proposed at intake, the residents of attached repeat reports, and the
-- examples that people's corrections leave for the next `urbis train`.

-- JSON array, best first: [{category_id, code, name, confidence}].
ALTER TABLE cases ADD COLUMN suggestions TEXT NOT NULL DEFAULT '[]';
-- 1 while the category waits for a person: no category, or the classifier was not confident.
ALTER TABLE cases ADD COLUMN needs_review INTEGER NOT NULL DEFAULT 0;
-- JSON {lead_dept_id, supporting, rule_id, basis} from the responsibility list, or NULL.
ALTER TABLE cases ADD COLUMN proposed_route TEXT;
-- Comma-separated ids of residents whose repeat reports were attached to the case.
ALTER TABLE cases ADD COLUMN co_reporters TEXT NOT NULL DEFAULT '';

CREATE INDEX cases_review ON cases(needs_review, state);
CREATE INDEX cases_place ON cases(area_id, category_id, created_at);
CREATE INDEX appeals_reporter ON appeals(reporter_user_id);

-- What people taught the classifier and the router: a dispatcher's category correction, and a
-- department's return of a wrong dispatch (回退). `urbis export training` writes them out.
CREATE TABLE training_examples (
    id           INTEGER PRIMARY KEY,
    case_id      INTEGER NOT NULL REFERENCES cases(id),
    source       TEXT    NOT NULL CHECK (source IN ('correction', 'return')),
    text         TEXT    NOT NULL,
    -- The category code a person chose (corrections) or the case's category (returns).
    label        TEXT    NOT NULL,
    -- What the machine or the earlier step had: the suggested category code, or the returning
    -- department's code.
    previous     TEXT    NOT NULL DEFAULT '',
    note         TEXT    NOT NULL DEFAULT '',
    actor_id     INTEGER,
    created_at   TEXT    NOT NULL
);
CREATE INDEX training_examples_created ON training_examples(created_at);
CREATE INDEX notifications_user ON notifications(user_id, id);
