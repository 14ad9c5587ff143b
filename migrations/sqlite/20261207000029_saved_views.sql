-- Saved views: the PostgreSQL migration of the same name holds the same
-- schema and says why.
CREATE TABLE saved_views (
    organization_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              BLOB NOT NULL,
    object          TEXT NOT NULL,
    name            TEXT NOT NULL,
    query           TEXT NOT NULL,
    columns         TEXT NOT NULL DEFAULT '[]',
    shared          INTEGER NOT NULL DEFAULT 0,
    owner_id        BLOB NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (organization_id, id)
);
CREATE INDEX saved_views_owner_idx ON saved_views (organization_id, object, owner_id);
CREATE INDEX saved_views_shared_idx ON saved_views (organization_id, object) WHERE shared;
