-- Counters rolled up when they are written, so that a dashboard call reads rows in proportion to
-- the areas and days it shows, never to grids × categories × days.
--
-- stats_rollup holds, per report day and metric:
--   dim 'area'     dim_id = every area on the case's area path (the area itself and each ancestor),
--                  category '' (all categories);
--   dim 'area_top' the same areas, category = the level-1 category code ('' for no category);
--   dim 'dept'     dim_id = the department, category '' (all categories).
-- Each equals the sum of the stats_daily rows below it; `audit verify` recounts them.
CREATE TABLE stats_rollup (
    dim       TEXT    NOT NULL,
    dim_id    INTEGER NOT NULL,
    day       TEXT    NOT NULL,
    metric    TEXT    NOT NULL,
    category  TEXT    NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (dim, dim_id, day, metric, category)
);

-- Current number of cases per state under every area (the area itself and each ancestor).
CREATE TABLE state_rollup (
    area_id  INTEGER NOT NULL,
    state    TEXT    NOT NULL,
    overdue  INTEGER NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (area_id, state, overdue)
);

INSERT INTO stats_rollup (dim, dim_id, day, metric, category, n)
SELECT 'area', g.id, s.day, s.metric, '', SUM(s.n)
FROM stats_daily s
JOIN areas a ON a.id = s.dim_id
JOIN areas g ON a.path LIKE g.path || '%'
WHERE s.dim = 'area'
GROUP BY g.id, s.day, s.metric;

INSERT INTO stats_rollup (dim, dim_id, day, metric, category, n)
SELECT 'area_top', g.id, s.day, s.metric, COALESCE(substr(k.code, 1, 2), ''), SUM(s.n)
FROM stats_daily s
JOIN areas a ON a.id = s.dim_id
JOIN areas g ON a.path LIKE g.path || '%'
LEFT JOIN categories k ON k.id = s.category_id
WHERE s.dim = 'area'
GROUP BY g.id, s.day, s.metric, COALESCE(substr(k.code, 1, 2), '');

INSERT INTO stats_rollup (dim, dim_id, day, metric, category, n)
SELECT 'dept', s.dim_id, s.day, s.metric, '', SUM(s.n)
FROM stats_daily s
WHERE s.dim = 'dept'
GROUP BY s.dim_id, s.day, s.metric;

INSERT INTO state_rollup (area_id, state, overdue, n)
SELECT g.id, c.state, c.overdue, SUM(c.n)
FROM case_state_counts c
JOIN areas a ON a.id = c.area_id
JOIN areas g ON a.path LIKE g.path || '%'
GROUP BY g.id, c.state, c.overdue
HAVING SUM(c.n) <> 0;
