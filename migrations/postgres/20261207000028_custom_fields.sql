-- Custom fields (leads.md "Custom fields"): an organization's own typed
-- fields on contacts, companies, deals, leads and properties.
--
-- A record keeps its values in its own `custom` object (read and written
-- with the row), and each value is also a row of `custom_values`, the index
-- that serves a list's `custom.<key>=` and `_min/_max` filters on both
-- backends: the same shape as `record_tags` (a list filter is `id IN (the
-- records with this value)`), keyed by organization first like every table.
-- A text value is stored lower-cased (equality ignores case), a number in
-- `value_number`, a date as `YYYY-MM-DD` text (ranges compare as text), a
-- multi-select as one row per option.
CREATE TABLE custom_fields (
    organization_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              UUID NOT NULL,
    object          TEXT NOT NULL,
    key             TEXT NOT NULL,
    label           TEXT NOT NULL,
    type            TEXT NOT NULL,
    options         JSONB NOT NULL DEFAULT '[]',
    required        BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (organization_id, id)
);
CREATE UNIQUE INDEX custom_fields_key ON custom_fields (organization_id, object, key);

CREATE TABLE custom_values (
    organization_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    record_type     TEXT NOT NULL,
    key             TEXT NOT NULL,
    record_id       UUID NOT NULL,
    value_text      TEXT,
    value_number    DOUBLE PRECISION
);
CREATE INDEX custom_values_text_idx ON custom_values (organization_id, record_type, key, value_text, record_id);
CREATE INDEX custom_values_number_idx ON custom_values (organization_id, record_type, key, value_number, record_id);
CREATE INDEX custom_values_record_idx ON custom_values (organization_id, record_type, record_id);

-- A constant default: no table rewrite.
ALTER TABLE contacts ADD COLUMN custom JSONB NOT NULL DEFAULT '{}';
ALTER TABLE companies ADD COLUMN custom JSONB NOT NULL DEFAULT '{}';
ALTER TABLE deals ADD COLUMN custom JSONB NOT NULL DEFAULT '{}';
ALTER TABLE leads ADD COLUMN custom JSONB NOT NULL DEFAULT '{}';
ALTER TABLE properties ADD COLUMN custom JSONB NOT NULL DEFAULT '{}';
