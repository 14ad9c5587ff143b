-- Saved views (leads.md "Saved views"): a list's query kept under a name,
-- private to its owner or shared with the organization. A list page reads
-- the caller's own and the shared views of one list: both indexes serve
-- that `owner_id = $ OR shared` read.
CREATE TABLE saved_views (
    organization_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              UUID NOT NULL,
    object          TEXT NOT NULL,
    name            TEXT NOT NULL,
    query           TEXT NOT NULL,
    columns         JSONB NOT NULL DEFAULT '[]',
    shared          BOOLEAN NOT NULL DEFAULT FALSE,
    owner_id        UUID NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (organization_id, id)
);
CREATE INDEX saved_views_owner_idx ON saved_views (organization_id, object, owner_id);
CREATE INDEX saved_views_shared_idx ON saved_views (organization_id, object) WHERE shared;
