-- Public web forms that create leads (leads.md "Web forms"). The public key
-- starts with the organization's id (hex), so a submission is looked up
-- inside one organization: one shard when distributed by organization, and
-- the unique index includes organization_id as Citus requires.
CREATE TABLE lead_forms (
    organization_id  UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id               UUID NOT NULL,
    public_key       TEXT NOT NULL,
    name             TEXT NOT NULL,
    fields           JSONB NOT NULL,
    default_owner_id UUID,
    default_tags     JSONB NOT NULL DEFAULT '[]',
    source           TEXT,
    thank_you_url    TEXT,
    created_by       UUID NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    version          BIGINT NOT NULL DEFAULT 1,
    PRIMARY KEY (organization_id, id)
);
CREATE UNIQUE INDEX lead_forms_public_key ON lead_forms (organization_id, public_key);
CREATE INDEX lead_forms_created_idx ON lead_forms (organization_id, created_at, id);
