-- Pipelines (api.md §5): every organization has one default pipeline, created
-- here for organizations that existed before this migration and by the server
-- for new ones. Stages are an ordered JSON array of {key, name, position,
-- probability}; the last stage is always `closed`.

CREATE TABLE pipelines (
    organization_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              BLOB NOT NULL,
    name            TEXT NOT NULL,
    is_default      INTEGER NOT NULL DEFAULT 0,
    stages          TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    version         INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (organization_id, id)
);
-- At most one default per organization.
CREATE UNIQUE INDEX pipelines_default_key ON pipelines (organization_id) WHERE is_default = 1;

INSERT INTO pipelines (organization_id, id, name, is_default, stages, created_at, updated_at, version)
SELECT id, randomblob(16), 'Sales', 1,
       '[{"key":"qualification","name":"Qualification","position":0,"probability":10},'
       || '{"key":"proposal","name":"Proposal","position":1,"probability":40},'
       || '{"key":"negotiation","name":"Negotiation","position":2,"probability":70},'
       || '{"key":"closed","name":"Closed","position":3,"probability":100}]',
       created_at, created_at, 1
FROM organizations;

-- Deals (api.md §5) move through the stages of one pipeline. Amounts are kept
-- as integer cents (the API shows decimal strings). furthest_position is the
-- position of the furthest stage the deal ever reached: the funnel's "entered".
CREATE TABLE deals (
    organization_id     BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id                  BLOB NOT NULL,
    owner_id            BLOB NOT NULL,
    title               TEXT NOT NULL,
    contact_id          BLOB NOT NULL,
    company_id          BLOB,
    pipeline_id         BLOB NOT NULL,
    stage               TEXT NOT NULL,
    furthest_position   INTEGER NOT NULL DEFAULT 0,
    status              TEXT NOT NULL CHECK (status IN ('new', 'in_progress', 'won', 'lost')),
    amount_cents        INTEGER NOT NULL DEFAULT 0 CHECK (amount_cents >= 0),
    currency            TEXT NOT NULL,
    expected_close_date TEXT,
    lost_reason         TEXT,
    closed_at           TEXT,
    tags                TEXT NOT NULL DEFAULT '[]',
    search_text         TEXT NOT NULL DEFAULT '',
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    version             INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (organization_id, id),
    FOREIGN KEY (organization_id, contact_id) REFERENCES contacts (organization_id, id),
    FOREIGN KEY (organization_id, company_id) REFERENCES companies (organization_id, id),
    FOREIGN KEY (organization_id, pipeline_id) REFERENCES pipelines (organization_id, id)
);
CREATE INDEX deals_created_idx ON deals (organization_id, created_at, id);
CREATE INDEX deals_updated_idx ON deals (organization_id, updated_at, id);
CREATE INDEX deals_amount_idx ON deals (organization_id, amount_cents, id);
CREATE INDEX deals_close_idx ON deals (organization_id, expected_close_date, id);
-- The board and "status + stage + owner" lists (bench R5).
CREATE INDEX deals_status_stage_owner_idx ON deals (organization_id, status, stage, owner_id, created_at, id);
CREATE INDEX deals_pipeline_stage_idx ON deals (organization_id, pipeline_id, stage);
CREATE INDEX deals_owner_idx ON deals (organization_id, owner_id, created_at, id);
CREATE INDEX deals_contact_idx ON deals (organization_id, contact_id, created_at, id);
CREATE INDEX deals_company_idx ON deals (organization_id, company_id, created_at, id);

CREATE VIRTUAL TABLE deals_fts USING fts5 (
    search_text, content = 'deals', content_rowid = 'rowid', tokenize = 'unicode61 remove_diacritics 0'
);
CREATE TRIGGER deals_fts_insert AFTER INSERT ON deals BEGIN
    INSERT INTO deals_fts (rowid, search_text) VALUES (new.rowid, new.search_text);
END;
CREATE TRIGGER deals_fts_delete AFTER DELETE ON deals BEGIN
    INSERT INTO deals_fts (deals_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
END;
CREATE TRIGGER deals_fts_update AFTER UPDATE OF search_text ON deals BEGIN
    INSERT INTO deals_fts (deals_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
    INSERT INTO deals_fts (rowid, search_text) VALUES (new.rowid, new.search_text);
END;
