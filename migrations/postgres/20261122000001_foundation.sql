-- Foundation: accounts, organizations, memberships, tokens, invitations, audit
-- log and idempotency keys (api.md §3–§4).
--
-- The SQLite migration of the same name holds the same schema. Tenant tables are
-- keyed (organization_id, id) and carry organization_id in every foreign key and
-- unique index, so they can be distributed by organization on Citus
-- (create_distributed_table(…, 'organization_id'), with organizations distributed
-- by id and users / refresh_tokens as reference or user-sharded tables).

-- Users are global: one account can belong to several organizations.
CREATE TABLE users (
    id            UUID PRIMARY KEY,
    email         TEXT NOT NULL,           -- trimmed and lower-cased by the server
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,           -- Argon2id PHC string
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX users_email_key ON users (email);

CREATE TABLE organizations (
    id                UUID PRIMARY KEY,
    name              TEXT NOT NULL,
    default_currency  TEXT NOT NULL DEFAULT 'USD',
    default_country   TEXT NOT NULL DEFAULT 'US',
    member_visibility TEXT NOT NULL DEFAULT 'all' CHECK (member_visibility IN ('all', 'own')),
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL,
    version           BIGINT NOT NULL DEFAULT 1
);

CREATE TABLE memberships (
    organization_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role            TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'manager', 'member')),
    joined_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (organization_id, user_id)
);
-- "Which organizations is this user in" (login, /auth/me).
CREATE INDEX memberships_user_idx ON memberships (user_id);

-- Refresh tokens, stored only as SHA-256 hashes. A login starts a family;
-- each refresh rotates to a new token of the same family. Presenting a rotated
-- token again revokes the whole family (theft detection).
CREATE TABLE refresh_tokens (
    id         UUID PRIMARY KEY,
    family_id  UUID NOT NULL,
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    rotated_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX refresh_tokens_hash_key ON refresh_tokens (token_hash);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_expires_idx ON refresh_tokens (expires_at);

-- Invitations: the token carries the organization id, so a lookup by token is a
-- lookup inside one organization (one shard when distributed).
CREATE TABLE invitations (
    organization_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              UUID NOT NULL,
    email           TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'manager', 'member')),
    token_hash      BYTEA NOT NULL,
    invited_by      UUID,
    created_at      TIMESTAMPTZ NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL,
    accepted_at     TIMESTAMPTZ,
    revoked_at      TIMESTAMPTZ,
    PRIMARY KEY (organization_id, id)
);
CREATE UNIQUE INDEX invitations_token_key ON invitations (organization_id, token_hash);
CREATE INDEX invitations_pending_idx ON invitations (organization_id, email)
    WHERE accepted_at IS NULL AND revoked_at IS NULL;

-- Append-only audit trail; no API changes or deletes entries.
CREATE TABLE audit_log (
    organization_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              UUID NOT NULL,
    actor_id        UUID,
    action          TEXT NOT NULL,
    target_type     TEXT,
    target_id       UUID,
    ip              TEXT,
    details         JSONB NOT NULL DEFAULT '{}',
    created_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (organization_id, id)
);
-- Serves the newest-first keyset walk of GET /audit-log.
CREATE INDEX audit_log_created_idx ON audit_log (organization_id, created_at, id);

-- Responses of creating POSTs kept for replay under an Idempotency-Key (24 h).
-- organization_id is the nil uuid for requests outside an organization.
CREATE TABLE idempotency_keys (
    organization_id UUID NOT NULL,
    user_id         UUID NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash    BYTEA NOT NULL,        -- SHA-256 of method, path and canonical JSON body
    status          INTEGER NOT NULL,
    response        TEXT NOT NULL,         -- the JSON body exactly as first sent
    created_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (organization_id, user_id, idempotency_key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
