-- Leads (leads.md "Leads"): the PostgreSQL migration of the same name holds
-- the same schema and says why.
CREATE TABLE leads (
    organization_id      BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id                   BLOB NOT NULL,
    owner_id             BLOB NOT NULL,
    name                 TEXT NOT NULL,
    email                TEXT,
    phone                TEXT,
    company_name         TEXT,
    source               TEXT,
    utm                  TEXT,
    status               TEXT NOT NULL CHECK (status IN ('new', 'contacted', 'qualified', 'unqualified', 'converted')),
    score                INTEGER NOT NULL DEFAULT 0,
    score_reasons        TEXT NOT NULL DEFAULT '[]',
    preferences          TEXT,
    next_follow_up_at    TEXT,
    converted_contact_id BLOB,
    converted_deal_id    BLOB,
    converted_at         TEXT,
    tags                 TEXT NOT NULL DEFAULT '[]',
    search_text          TEXT NOT NULL DEFAULT '',
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    version              INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (organization_id, id)
);
CREATE UNIQUE INDEX leads_open_email_key ON leads (organization_id, email)
    WHERE email IS NOT NULL AND status IN ('new', 'contacted', 'qualified');
CREATE UNIQUE INDEX leads_open_phone_key ON leads (organization_id, phone)
    WHERE phone IS NOT NULL AND status IN ('new', 'contacted', 'qualified');
CREATE INDEX leads_created_idx ON leads (organization_id, created_at, id);
CREATE INDEX leads_updated_idx ON leads (organization_id, updated_at, id);
CREATE INDEX leads_score_idx ON leads (organization_id, score, id);
CREATE INDEX leads_follow_up_idx ON leads (organization_id, COALESCE(next_follow_up_at, '9999-12-31T00:00:00+00:00'), id);
CREATE INDEX leads_status_idx ON leads (organization_id, status, created_at, id);
CREATE INDEX leads_source_idx ON leads (organization_id, source, created_at, id);
CREATE INDEX leads_source_status_idx ON leads (organization_id, source, status);
CREATE INDEX leads_owner_idx ON leads (organization_id, owner_id, created_at, id);

CREATE VIRTUAL TABLE leads_fts USING fts5 (
    search_text, content = 'leads', content_rowid = 'rowid', tokenize = 'unicode61 remove_diacritics 0', prefix = '2 3'
);
CREATE TRIGGER leads_fts_insert AFTER INSERT ON leads BEGIN
    INSERT INTO leads_fts (rowid, search_text) VALUES (new.rowid, new.search_text);
END;
CREATE TRIGGER leads_fts_delete AFTER DELETE ON leads BEGIN
    INSERT INTO leads_fts (leads_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
END;
CREATE TRIGGER leads_fts_update AFTER UPDATE OF search_text ON leads
WHEN old.search_text IS NOT new.search_text BEGIN
    INSERT INTO leads_fts (leads_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
    INSERT INTO leads_fts (rowid, search_text) VALUES (new.rowid, new.search_text);
END;

ALTER TABLE activities ADD COLUMN lead_id BLOB;
CREATE INDEX activities_lead_idx ON activities (organization_id, lead_id, created_at, id) WHERE lead_id IS NOT NULL;

ALTER TABLE organizations ADD COLUMN lead_source_weights TEXT NOT NULL DEFAULT '{}';
