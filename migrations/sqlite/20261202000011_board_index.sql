-- The pipeline board lists the newest deals of each stage of a pipeline:
-- (pipeline_id, stage) in created_at order. Without it every column read and
-- sorted all deals of its stage (the funnel index stops at the stage).
CREATE INDEX deals_board_idx ON deals (organization_id, pipeline_id, stage, created_at, id);
