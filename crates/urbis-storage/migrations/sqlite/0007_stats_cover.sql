-- Dashboard reads sum a period's counters by area, day, metric and category: a covering index lets
-- them scan the period without touching the table rows.
CREATE INDEX stats_daily_by_dim_day ON stats_daily(dim, day, dim_id, metric, category_id, n);
