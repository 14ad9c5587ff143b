-- Leads (leads.md "Leads"): people who may become customers, scored by
-- explainable rules, converted into a contact (and a company and a deal).
--
-- Open leads (new, contacted, qualified) are unique by email and by phone in
-- their organization; closed ones (unqualified, converted) are not, so a
-- person may come back as a new lead. `score` is stored (a list filters and
-- sorts by it) and recomputed on every change; `score_reasons` explains it.
CREATE TABLE leads (
    organization_id      UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id                   UUID NOT NULL,
    owner_id             UUID NOT NULL,
    name                 TEXT NOT NULL,
    email                TEXT,                  -- lower-cased
    phone                TEXT,                  -- E.164
    company_name         TEXT,
    source               TEXT,
    utm                  JSONB,
    status               TEXT NOT NULL CHECK (status IN ('new', 'contacted', 'qualified', 'unqualified', 'converted')),
    score                BIGINT NOT NULL DEFAULT 0,
    score_reasons        JSONB NOT NULL DEFAULT '[]',
    preferences          JSONB,
    next_follow_up_at    TIMESTAMPTZ,
    converted_contact_id UUID,
    converted_deal_id    UUID,
    converted_at         TIMESTAMPTZ,
    tags                 JSONB NOT NULL DEFAULT '[]',
    search_text          TEXT NOT NULL DEFAULT '',
    search_vector        TSVECTOR GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL,
    version              BIGINT NOT NULL DEFAULT 1,
    PRIMARY KEY (organization_id, id)
);
CREATE UNIQUE INDEX leads_open_email_key ON leads (organization_id, email)
    WHERE email IS NOT NULL AND status IN ('new', 'contacted', 'qualified');
CREATE UNIQUE INDEX leads_open_phone_key ON leads (organization_id, phone)
    WHERE phone IS NOT NULL AND status IN ('new', 'contacted', 'qualified');
-- One index per sort, and per filter that narrows a large list.
CREATE INDEX leads_created_idx ON leads (organization_id, created_at, id);
CREATE INDEX leads_updated_idx ON leads (organization_id, updated_at, id);
CREATE INDEX leads_score_idx ON leads (organization_id, score, id);
CREATE INDEX leads_follow_up_idx ON leads (organization_id, COALESCE(next_follow_up_at, '9999-12-31T00:00:00+00:00'::timestamptz), id);
CREATE INDEX leads_status_idx ON leads (organization_id, status, created_at, id);
CREATE INDEX leads_source_idx ON leads (organization_id, source, created_at, id);
-- GET /analytics/leads/sources counts leads by source and status from this
-- index alone.
CREATE INDEX leads_source_status_idx ON leads (organization_id, source, status);
CREATE INDEX leads_owner_idx ON leads (organization_id, owner_id, created_at, id);
CREATE INDEX leads_search_idx ON leads USING GIN (search_vector);

-- A lead's timeline: its activities carry its id (a converted lead's
-- contact links back to it in the `lead_converted` entry).
ALTER TABLE activities ADD COLUMN lead_id UUID;
CREATE INDEX activities_lead_idx ON activities (organization_id, lead_id, created_at, id) WHERE lead_id IS NOT NULL;

-- Per-organization source weights of the lead score (`PATCH /lead-scoring`):
-- only the sources set here; the others keep their defaults.
ALTER TABLE organizations ADD COLUMN lead_source_weights JSONB NOT NULL DEFAULT '{}';
