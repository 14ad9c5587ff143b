-- Real-estate listings: the PostgreSQL migration of the same name holds the
-- same schema and says why.
CREATE TABLE properties (
    organization_id   BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id                BLOB NOT NULL,
    owner_id          BLOB NOT NULL,
    title             TEXT NOT NULL,
    property_type     TEXT NOT NULL CHECK (property_type IN ('apartment', 'house', 'villa', 'plot', 'commercial', 'other')),
    listing_type      TEXT NOT NULL CHECK (listing_type IN ('sale', 'rent')),
    status            TEXT NOT NULL CHECK (status IN ('available', 'under_offer', 'sold', 'rented', 'off_market')),
    price_cents       INTEGER NOT NULL DEFAULT 0 CHECK (price_cents >= 0),
    currency          TEXT NOT NULL,
    bedrooms          INTEGER,
    bathrooms         INTEGER,
    area_sqft         INTEGER,
    address           TEXT,
    city_key          TEXT,
    latitude          REAL,
    longitude         REAL,
    description       TEXT,
    seller_contact_id BLOB,
    tags              TEXT NOT NULL DEFAULT '[]',
    search_text       TEXT NOT NULL DEFAULT '',
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    version           INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (organization_id, id)
);
CREATE INDEX properties_created_idx ON properties (organization_id, created_at, id);
CREATE INDEX properties_updated_idx ON properties (organization_id, updated_at, id);
CREATE INDEX properties_price_idx ON properties (organization_id, currency, price_cents, id);
CREATE INDEX properties_city_price_idx ON properties (organization_id, city_key, price_cents, id);
CREATE INDEX properties_status_idx ON properties (organization_id, status, property_type, created_at, id);
CREATE INDEX properties_owner_idx ON properties (organization_id, owner_id, created_at, id);

CREATE VIRTUAL TABLE properties_fts USING fts5 (
    search_text, content = 'properties', content_rowid = 'rowid', tokenize = 'unicode61 remove_diacritics 0', prefix = '2 3'
);
CREATE TRIGGER properties_fts_insert AFTER INSERT ON properties BEGIN
    INSERT INTO properties_fts (rowid, search_text) VALUES (new.rowid, new.search_text);
END;
CREATE TRIGGER properties_fts_delete AFTER DELETE ON properties BEGIN
    INSERT INTO properties_fts (properties_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
END;
CREATE TRIGGER properties_fts_update AFTER UPDATE OF search_text ON properties
WHEN old.search_text IS NOT new.search_text BEGIN
    INSERT INTO properties_fts (properties_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
    INSERT INTO properties_fts (rowid, search_text) VALUES (new.rowid, new.search_text);
END;
