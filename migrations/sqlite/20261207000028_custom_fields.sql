-- Custom fields: the PostgreSQL migration of the same name holds the same
-- schema and says why.
CREATE TABLE custom_fields (
    organization_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              BLOB NOT NULL,
    object          TEXT NOT NULL,
    key             TEXT NOT NULL,
    label           TEXT NOT NULL,
    type            TEXT NOT NULL,
    options         TEXT NOT NULL DEFAULT '[]',
    required        INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (organization_id, id)
);
CREATE UNIQUE INDEX custom_fields_key ON custom_fields (organization_id, object, key);

CREATE TABLE custom_values (
    organization_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    record_type     TEXT NOT NULL,
    key             TEXT NOT NULL,
    record_id       BLOB NOT NULL,
    value_text      TEXT,
    value_number    REAL
);
CREATE INDEX custom_values_text_idx ON custom_values (organization_id, record_type, key, value_text, record_id);
CREATE INDEX custom_values_number_idx ON custom_values (organization_id, record_type, key, value_number, record_id);
CREATE INDEX custom_values_record_idx ON custom_values (organization_id, record_type, record_id);

ALTER TABLE contacts ADD COLUMN custom TEXT NOT NULL DEFAULT '{}';
ALTER TABLE companies ADD COLUMN custom TEXT NOT NULL DEFAULT '{}';
ALTER TABLE deals ADD COLUMN custom TEXT NOT NULL DEFAULT '{}';
ALTER TABLE leads ADD COLUMN custom TEXT NOT NULL DEFAULT '{}';
ALTER TABLE properties ADD COLUMN custom TEXT NOT NULL DEFAULT '{}';
