-- Records, first part: companies and contacts (api.md §5), and the tag index
-- shared by every record type.
--
-- Every record carries owner_id, tags (a JSON array, in the order given) and a
-- version. search_text holds the words a free-text `q` can match, split by the
-- server exactly like the query (src/records/mod.rs); FTS5 indexes it.

CREATE TABLE companies (
    organization_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              BLOB NOT NULL,
    owner_id        BLOB NOT NULL,
    name            TEXT NOT NULL,
    domain          TEXT,
    industry        TEXT,
    employee_count  INTEGER,
    tags            TEXT NOT NULL DEFAULT '[]',
    search_text     TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    version         INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (organization_id, id)
);
CREATE UNIQUE INDEX companies_domain_key ON companies (organization_id, domain) WHERE domain IS NOT NULL;
CREATE INDEX companies_created_idx ON companies (organization_id, created_at, id);
CREATE INDEX companies_name_idx ON companies (organization_id, name, id);

CREATE TABLE contacts (
    organization_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              BLOB NOT NULL,
    owner_id        BLOB NOT NULL,
    name            TEXT NOT NULL,
    email           TEXT,                  -- lower-cased
    phone           TEXT,                  -- E.164
    title           TEXT,
    company_id      BLOB,
    lead_source     TEXT,
    customer_since  TEXT,                  -- YYYY-MM-DD
    tags            TEXT NOT NULL DEFAULT '[]',
    search_text     TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    version         INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (organization_id, id),
    -- Deleting a company first clears company_id of its contacts (server side:
    -- SQLite cannot SET NULL one column of a composite key).
    FOREIGN KEY (organization_id, company_id) REFERENCES companies (organization_id, id)
);
CREATE UNIQUE INDEX contacts_email_key ON contacts (organization_id, email) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX contacts_phone_key ON contacts (organization_id, phone) WHERE phone IS NOT NULL;
-- One index per sort, and per filter that narrows a large list.
CREATE INDEX contacts_created_idx ON contacts (organization_id, created_at, id);
CREATE INDEX contacts_updated_idx ON contacts (organization_id, updated_at, id);
CREATE INDEX contacts_name_idx ON contacts (organization_id, name, id);
CREATE INDEX contacts_owner_idx ON contacts (organization_id, owner_id, created_at, id);
CREATE INDEX contacts_company_idx ON contacts (organization_id, company_id, created_at, id);
CREATE INDEX contacts_lead_source_idx ON contacts (organization_id, lead_source, created_at, id);

-- Full-text index of search_text (external content: the words live once).
CREATE VIRTUAL TABLE contacts_fts USING fts5 (
    search_text, content = 'contacts', content_rowid = 'rowid', tokenize = 'unicode61 remove_diacritics 0'
);
CREATE TRIGGER contacts_fts_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO contacts_fts (rowid, search_text) VALUES (new.rowid, new.search_text);
END;
CREATE TRIGGER contacts_fts_delete AFTER DELETE ON contacts BEGIN
    INSERT INTO contacts_fts (contacts_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
END;
CREATE TRIGGER contacts_fts_update AFTER UPDATE OF search_text ON contacts BEGIN
    INSERT INTO contacts_fts (contacts_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
    INSERT INTO contacts_fts (rowid, search_text) VALUES (new.rowid, new.search_text);
END;

CREATE VIRTUAL TABLE companies_fts USING fts5 (
    search_text, content = 'companies', content_rowid = 'rowid', tokenize = 'unicode61 remove_diacritics 0'
);
CREATE TRIGGER companies_fts_insert AFTER INSERT ON companies BEGIN
    INSERT INTO companies_fts (rowid, search_text) VALUES (new.rowid, new.search_text);
END;
CREATE TRIGGER companies_fts_delete AFTER DELETE ON companies BEGIN
    INSERT INTO companies_fts (companies_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
END;
CREATE TRIGGER companies_fts_update AFTER UPDATE OF search_text ON companies BEGIN
    INSERT INTO companies_fts (companies_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
    INSERT INTO companies_fts (rowid, search_text) VALUES (new.rowid, new.search_text);
END;

-- Tags of every record type, one row per (record, tag): serves `tag=` filters
-- and GET /tags counts.
CREATE TABLE record_tags (
    organization_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    record_type     TEXT NOT NULL,
    tag             TEXT NOT NULL,
    record_id       BLOB NOT NULL,
    owner_id        BLOB NOT NULL,          -- for member_visibility = own
    PRIMARY KEY (organization_id, record_type, tag, record_id)
);
CREATE INDEX record_tags_record_idx ON record_tags (organization_id, record_type, record_id);
