-- The durable job queue (automation.md "Background jobs"; issue 15): imports,
-- webhook deliveries, reminders and retention run on it. See
-- src/services/jobs/mod.rs for the life of a job.
--
-- organization_id is the nil uuid for the system's own jobs (retention), as in
-- idempotency_keys. A periodic job's id is derived from its kind and time
-- slot, so instances that schedule the same slot add it once. status: queued → running → succeeded, or back to queued
-- with a later run_at after a failure, or dead after max_attempts.
CREATE TABLE jobs (
    organization_id BLOB NOT NULL,
    id              BLOB NOT NULL,
    kind            TEXT NOT NULL,
    payload         TEXT NOT NULL DEFAULT '{}',
    status          TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    max_attempts    INTEGER NOT NULL,
    run_at          TEXT NOT NULL,
    locked_until    TEXT,
    locked_by       TEXT,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    finished_at     TEXT,
    PRIMARY KEY (organization_id, id)
);
-- The workers' claim: the queued jobs that are due, oldest due first.
CREATE INDEX jobs_due_idx ON jobs (run_at) WHERE status = 'queued';
-- Leases to take back from a worker that stopped.
CREATE INDEX jobs_lease_idx ON jobs (locked_until) WHERE status = 'running';
-- The admins' list, newest first, with or without a status.
CREATE INDEX jobs_list_idx ON jobs (organization_id, created_at, id);
CREATE INDEX jobs_status_idx ON jobs (organization_id, status, created_at, id);
