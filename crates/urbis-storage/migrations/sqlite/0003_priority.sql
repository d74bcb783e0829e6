-- Intake intelligence kept on the case: the explainable priority and the classifier's suggestion.
ALTER TABLE cases ADD COLUMN priority_score INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN priority_level TEXT NOT NULL DEFAULT 'normal';
-- JSON array of {code, label_zh, points, detail}.
ALTER TABLE cases ADD COLUMN priority_factors TEXT NOT NULL DEFAULT '[]';
ALTER TABLE cases ADD COLUMN suggested_category_id INTEGER;
ALTER TABLE cases ADD COLUMN suggested_confidence REAL;
CREATE INDEX cases_state_priority ON cases(state, priority_score);
