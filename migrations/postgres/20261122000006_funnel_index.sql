-- The funnel groups a pipeline's deals by stage, status and furthest position:
-- an index holding all of them answers it from the index alone (it replaces the
-- narrower pipeline + stage index, which it starts with).
CREATE INDEX deals_funnel_idx ON deals (organization_id, pipeline_id, stage, status, furthest_position);
DROP INDEX deals_pipeline_stage_idx;
