-- Real-estate listings (leads.md "Properties"). `price_cents` sorts within
-- its currency like a deal's amount; `city_key` is the lower-cased city the
-- list filters by (with a price range: the benchmark's property search).
CREATE TABLE properties (
    organization_id   UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id                UUID NOT NULL,
    owner_id          UUID NOT NULL,
    title             TEXT NOT NULL,
    property_type     TEXT NOT NULL CHECK (property_type IN ('apartment', 'house', 'villa', 'plot', 'commercial', 'other')),
    listing_type      TEXT NOT NULL CHECK (listing_type IN ('sale', 'rent')),
    status            TEXT NOT NULL CHECK (status IN ('available', 'under_offer', 'sold', 'rented', 'off_market')),
    price_cents       BIGINT NOT NULL DEFAULT 0 CHECK (price_cents >= 0),
    currency          TEXT NOT NULL,
    bedrooms          BIGINT,
    bathrooms         BIGINT,
    area_sqft         BIGINT,
    address           JSONB,
    city_key          TEXT,
    latitude          DOUBLE PRECISION,
    longitude         DOUBLE PRECISION,
    description       TEXT,
    seller_contact_id UUID,
    tags              JSONB NOT NULL DEFAULT '[]',
    search_text       TEXT NOT NULL DEFAULT '',
    search_vector     TSVECTOR GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL,
    version           BIGINT NOT NULL DEFAULT 1,
    PRIMARY KEY (organization_id, id)
);
CREATE INDEX properties_created_idx ON properties (organization_id, created_at, id);
CREATE INDEX properties_updated_idx ON properties (organization_id, updated_at, id);
CREATE INDEX properties_price_idx ON properties (organization_id, currency, price_cents, id);
CREATE INDEX properties_city_price_idx ON properties (organization_id, city_key, price_cents, id);
CREATE INDEX properties_status_idx ON properties (organization_id, status, property_type, created_at, id);
CREATE INDEX properties_owner_idx ON properties (organization_id, owner_id, created_at, id);
CREATE INDEX properties_search_idx ON properties USING GIN (search_vector);
