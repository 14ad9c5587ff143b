-- The pipeline board lists the newest deals of each stage of a pipeline:
-- (pipeline_id, stage) in created_at order. Without it every column read and
-- sorted all deals of its stage (the funnel index stops at the stage). The
-- trailing currency and amount let the column totals be read from the index
-- alone (358 ms with heap visits on the benchmark's 300k deals).
CREATE INDEX deals_board_idx ON deals (organization_id, pipeline_id, stage, created_at, id, currency, amount_cents);

-- The dashboard's "won this month" (won deals by close time) and the
-- summary (counts and sums by status and currency, days from creation to
-- winning) as index-only reads: "won this month" took 166 ms visiting every
-- won deal, the summary 0.4 s.
CREATE INDEX deals_closed_idx ON deals (organization_id, status, closed_at, currency, amount_cents, created_at);
