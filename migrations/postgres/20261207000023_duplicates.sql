-- Likely duplicates (data.md "Duplicates and merge"; issue 15): the groups
-- the last scan of an organization's contacts or companies found
-- (src/services/duplicates). A scan replaces all of a type's groups at
-- once; GET /contacts/duplicates reads them best first. score_milli is the
-- score in thousandths (an integer keeps the list's cursor exact).
CREATE TABLE duplicate_groups (
    organization_id UUID NOT NULL,
    record_type     TEXT NOT NULL CHECK (record_type IN ('contact', 'company')),
    id              UUID NOT NULL,
    reason          TEXT NOT NULL,
    score_milli     INTEGER NOT NULL,
    record_ids      JSONB NOT NULL,
    PRIMARY KEY (organization_id, record_type, id)
);
CREATE INDEX duplicate_groups_rank_idx ON duplicate_groups (organization_id, record_type, score_milli DESC, id);

-- When each type was last scanned.
CREATE TABLE duplicate_scans (
    organization_id UUID NOT NULL,
    record_type     TEXT NOT NULL,
    records         BIGINT NOT NULL,
    scanned_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (organization_id, record_type)
);
