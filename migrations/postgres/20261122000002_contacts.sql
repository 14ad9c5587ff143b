-- Records, first part: companies and contacts (api.md §5), and the tag index
-- shared by every record type.
--
-- Every record carries owner_id, tags (a JSON array, in the order given) and a
-- version. search_text holds the words a free-text `q` can match, split by the
-- server exactly like the query (src/records/mod.rs); a GIN index over its
-- tsvector serves prefix queries (`word:*`).

CREATE TABLE companies (
    organization_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              UUID NOT NULL,
    owner_id        UUID NOT NULL,
    name            TEXT NOT NULL,
    domain          TEXT,
    industry        TEXT,
    employee_count  BIGINT,
    tags            JSONB NOT NULL DEFAULT '[]',
    search_text     TEXT NOT NULL DEFAULT '',
    search_vector   TSVECTOR GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    version         BIGINT NOT NULL DEFAULT 1,
    PRIMARY KEY (organization_id, id)
);
CREATE UNIQUE INDEX companies_domain_key ON companies (organization_id, domain) WHERE domain IS NOT NULL;
CREATE INDEX companies_created_idx ON companies (organization_id, created_at, id);
CREATE INDEX companies_name_idx ON companies (organization_id, name, id);
CREATE INDEX companies_search_idx ON companies USING GIN (search_vector);

CREATE TABLE contacts (
    organization_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              UUID NOT NULL,
    owner_id        UUID NOT NULL,
    name            TEXT NOT NULL,
    email           TEXT,                  -- lower-cased
    phone           TEXT,                  -- E.164
    title           TEXT,
    company_id      UUID,
    lead_source     TEXT,
    customer_since  DATE,
    tags            JSONB NOT NULL DEFAULT '[]',
    search_text     TEXT NOT NULL DEFAULT '',
    search_vector   TSVECTOR GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    version         BIGINT NOT NULL DEFAULT 1,
    PRIMARY KEY (organization_id, id),
    -- Deleting a company first clears company_id of its contacts (server side,
    -- as on SQLite).
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
CREATE INDEX contacts_search_idx ON contacts USING GIN (search_vector);

-- Tags of every record type, one row per (record, tag): serves `tag=` filters
-- and GET /tags counts.
CREATE TABLE record_tags (
    organization_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    record_type     TEXT NOT NULL,
    tag             TEXT NOT NULL,
    record_id       UUID NOT NULL,
    owner_id        UUID NOT NULL,          -- for member_visibility = own
    PRIMARY KEY (organization_id, record_type, tag, record_id)
);
CREATE INDEX record_tags_record_idx ON record_tags (organization_id, record_type, record_id);
