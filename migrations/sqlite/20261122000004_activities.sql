-- The timeline (api.md §5 "Activities"): append-only. An activity of a deal
-- also carries the deal's contact, so a contact's timeline is one index range.
CREATE TABLE activities (
    organization_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              BLOB NOT NULL,
    type            TEXT NOT NULL CHECK (type IN ('comment', 'status_changed', 'stage_changed', 'task_created', 'task_completed', 'system')),
    deal_id         BLOB,
    contact_id      BLOB,
    author_id       BLOB,
    payload         TEXT NOT NULL DEFAULT '{}',
    created_at      TEXT NOT NULL,
    PRIMARY KEY (organization_id, id)
);
CREATE INDEX activities_deal_idx ON activities (organization_id, deal_id, created_at, id);
CREATE INDEX activities_contact_idx ON activities (organization_id, contact_id, created_at, id);
CREATE INDEX activities_created_idx ON activities (organization_id, created_at, id);
