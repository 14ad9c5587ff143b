-- Calls and meetings logged by hand join the timeline's types (`call`,
-- `meeting`: payload `{"text", "occurred_at"}`). SQLite cannot change a
-- CHECK constraint: the table is rebuilt with the wider one (the documented
-- ALTER TABLE procedure), its rows and indexes as they were.
CREATE TABLE activities_new (
    organization_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              BLOB NOT NULL,
    type            TEXT NOT NULL CHECK (type IN ('comment', 'call', 'meeting', 'status_changed', 'stage_changed', 'task_created', 'task_completed', 'system')),
    deal_id         BLOB,
    contact_id      BLOB,
    author_id       BLOB,
    payload         TEXT NOT NULL DEFAULT '{}',
    created_at      TEXT NOT NULL,
    PRIMARY KEY (organization_id, id)
);
INSERT INTO activities_new (organization_id, id, type, deal_id, contact_id, author_id, payload, created_at)
    SELECT organization_id, id, type, deal_id, contact_id, author_id, payload, created_at FROM activities;
DROP TABLE activities;
ALTER TABLE activities_new RENAME TO activities;
CREATE INDEX activities_deal_idx ON activities (organization_id, deal_id, created_at, id);
CREATE INDEX activities_contact_idx ON activities (organization_id, contact_id, created_at, id);
CREATE INDEX activities_created_idx ON activities (organization_id, created_at, id);
