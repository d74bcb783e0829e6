-- The consoles as people work them (issue 15): what a dispatcher writes with a dispatch, and the
-- taxonomy imports an administrator can undo.

-- The instructions (处置要求) and the deadline chosen at the latest dispatch of a case. The
-- deadline is an amount in the category's clock, never more than the category allows; a shorter
-- one carries the dispatcher's reason. A re-dispatch replaces the row.
CREATE TABLE dispatch_orders (
    case_id          INTEGER PRIMARY KEY REFERENCES cases(id),
    instructions     TEXT    NOT NULL,
    limit_amount     INTEGER NOT NULL,
    category_amount  INTEGER NOT NULL,
    deadline_reason  TEXT    NOT NULL,
    dispatched_by    INTEGER REFERENCES users(id),
    dispatched_at    TEXT    NOT NULL
);

-- Each applied taxonomy import and the categories it created (comma-separated ids), so that the
-- latest one can be undone while no case, rule or grant uses them yet.
CREATE TABLE taxonomy_imports (
    id            INTEGER PRIMARY KEY,
    imported_by   INTEGER REFERENCES users(id),
    imported_at   TEXT    NOT NULL,
    row_count     INTEGER NOT NULL,
    category_ids  TEXT    NOT NULL,
    undone_at     TEXT
);
