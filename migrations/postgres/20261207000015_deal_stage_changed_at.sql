-- When a deal entered its current stage (the board's "days in stage"): set
-- on create and on every stage change, closing and reopening included.
-- Existing deals read it from their timeline's last stage change, else their
-- creation.
ALTER TABLE deals ADD COLUMN stage_changed_at TIMESTAMPTZ;

UPDATE deals SET stage_changed_at = COALESCE((
    SELECT a.created_at FROM activities AS a
    WHERE a.organization_id = deals.organization_id AND a.deal_id = deals.id
      AND a.type = 'stage_changed'
    ORDER BY a.created_at DESC, a.id DESC LIMIT 1
), created_at);

ALTER TABLE deals ALTER COLUMN stage_changed_at SET NOT NULL;

-- The board lists a stage's cards (and its won and lost columns) for one
-- owner or all, and totals them by status and currency: the index holds
-- status and owner after the order, so both are read from it.
DROP INDEX deals_board_idx;
CREATE INDEX deals_board_idx ON deals (organization_id, pipeline_id, stage, created_at, id, status, owner_id, currency, amount_cents);
