-- CSV imports (data.md "CSV import", "Conflict review queue"; issue 15).
--
-- An import's file is kept in the database, in chunks of about 1 MiB, so
-- the job that applies it can run on any instance sharing the database. The
-- chunks are deleted when the import finishes. processed_rows is the
-- resume point: each batch of rows commits with it, so an import taken
-- back after a crash continues after the last committed batch.
CREATE TABLE imports (
    organization_id   BLOB NOT NULL,
    id                BLOB NOT NULL,
    object            TEXT NOT NULL CHECK (object IN ('contacts', 'companies', 'deals')),
    status            TEXT NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed')),
    on_conflict       TEXT NOT NULL CHECK (on_conflict IN ('queue', 'keep', 'overwrite')),
    file_name         TEXT,
    file_size         INTEGER NOT NULL,
    encoding          TEXT NOT NULL,
    delimiter         TEXT NOT NULL,
    -- The caller's mapping overrides, {header: field|null}.
    mapping           TEXT NOT NULL DEFAULT '{}',
    total_rows        INTEGER NOT NULL,
    processed_rows    INTEGER NOT NULL DEFAULT 0,
    created           INTEGER NOT NULL DEFAULT 0,
    merged            INTEGER NOT NULL DEFAULT 0,
    unchanged         INTEGER NOT NULL DEFAULT 0,
    skipped           INTEGER NOT NULL DEFAULT 0,
    conflicts         INTEGER NOT NULL DEFAULT 0,
    companies_created INTEGER NOT NULL DEFAULT 0,
    -- The first 1,000 row errors, [{line, field, code, message}].
    errors            TEXT NOT NULL DEFAULT '[]',
    failure           TEXT,
    created_by        BLOB NOT NULL,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    started_at        TEXT,
    finished_at       TEXT,
    PRIMARY KEY (organization_id, id)
);
-- GET /imports, newest first.
CREATE INDEX imports_list_idx ON imports (organization_id, created_at, id);

CREATE TABLE import_chunks (
    organization_id BLOB NOT NULL,
    import_id       BLOB NOT NULL,
    seq             INTEGER NOT NULL,
    data            BLOB NOT NULL,
    PRIMARY KEY (organization_id, import_id, seq)
);

-- The review queue: one entry per conflicting field of a matched record.
-- The values are JSON as the API shows them (normalized).
CREATE TABLE import_conflicts (
    organization_id BLOB NOT NULL,
    id              BLOB NOT NULL,
    import_id       BLOB NOT NULL,
    line            INTEGER NOT NULL,
    record_type     TEXT NOT NULL,
    record_id       BLOB NOT NULL,
    field           TEXT NOT NULL,
    current_value   TEXT NOT NULL,
    incoming_value  TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('open', 'kept', 'applied')),
    created_at      TEXT NOT NULL,
    resolved_at     TEXT,
    resolved_by     BLOB,
    PRIMARY KEY (organization_id, id)
);
-- The queue in file order (ids are time-ordered), of all imports or of
-- one, with or without a status.
CREATE INDEX import_conflicts_list_idx ON import_conflicts (organization_id, status, id);
CREATE INDEX import_conflicts_import_idx ON import_conflicts (organization_id, import_id, id);

-- A contact row's company, or a company row's match, is found by name
-- whatever its case, the oldest first.
CREATE INDEX companies_lower_name_idx ON companies (organization_id, lower(name), created_at, id);
