-- Sign-ins of the web app (ui.md): the browser holds an opaque token in an
-- HttpOnly cookie, the server keeps its SHA-256 hash. Each session carries its
-- CSRF token and the organization the user is working in. Sessions belong to a
-- user, like refresh tokens (a reference / user-sharded table under Citus).
CREATE TABLE web_sessions (
    token_hash      BLOB PRIMARY KEY,
    user_id         BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    organization_id BLOB,
    csrf_token      TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL
);
CREATE INDEX web_sessions_user_idx ON web_sessions (user_id);
CREATE INDEX web_sessions_expires_idx ON web_sessions (expires_at);
