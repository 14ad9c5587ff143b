-- The open stage a won or lost deal was closed from (api.md §5, §6): where
-- `POST /deals/{id}/reopen` takes it back, and the stage the funnel counts a
-- lost deal as lost from. Deals closed before this column read it from their
-- timeline's last move to `closed`.
ALTER TABLE deals ADD COLUMN closed_from TEXT;

UPDATE deals SET closed_from = (
    SELECT a.payload ->> 'from' FROM activities AS a
    WHERE a.organization_id = deals.organization_id AND a.deal_id = deals.id
      AND a.type = 'stage_changed' AND a.payload ->> 'to' = 'closed'
    ORDER BY a.created_at DESC, a.id DESC LIMIT 1
)
WHERE status IN ('won', 'lost');

-- The funnel reads `closed_from` too: its covering index holds it, so the
-- funnel stays an index-only scan.
DROP INDEX deals_funnel_idx;
CREATE INDEX deals_funnel_idx ON deals (organization_id, pipeline_id, stage, status, furthest_position, closed_from);
