-- Public web forms that create leads: the PostgreSQL migration of the same
-- name holds the same schema and says why.
CREATE TABLE lead_forms (
    organization_id  BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id               BLOB NOT NULL,
    public_key       TEXT NOT NULL,
    name             TEXT NOT NULL,
    fields           TEXT NOT NULL,
    default_owner_id BLOB,
    default_tags     TEXT NOT NULL DEFAULT '[]',
    source           TEXT,
    thank_you_url    TEXT,
    created_by       BLOB NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    version          INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (organization_id, id)
);
CREATE UNIQUE INDEX lead_forms_public_key ON lead_forms (organization_id, public_key);
CREATE INDEX lead_forms_created_idx ON lead_forms (organization_id, created_at, id);
