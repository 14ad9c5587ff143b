-- The durable job queue (automation.md "Background jobs"; issue 15): imports,
-- webhook deliveries, reminders and retention run on it. See
-- src/services/jobs/mod.rs for the life of a job.
--
-- organization_id is the nil uuid for the system's own jobs (retention), as in
-- idempotency_keys. A periodic job's id is derived from its kind and time
-- slot, so instances that schedule the same slot add it once. On Citus the table stays local (not distributed): the
-- workers' claim reads across organizations with FOR UPDATE SKIP LOCKED,
-- which a distributed table allows only within one shard. status: queued →
-- running → succeeded, or back to queued with a later run_at after a
-- failure, or dead after max_attempts.
CREATE TABLE jobs (
    organization_id UUID NOT NULL,
    id              UUID NOT NULL,
    kind            TEXT NOT NULL,
    payload         JSONB NOT NULL DEFAULT '{}',
    status          TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    max_attempts    INTEGER NOT NULL,
    run_at          TIMESTAMPTZ NOT NULL,
    locked_until    TIMESTAMPTZ,
    locked_by       TEXT,
    last_error      TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    finished_at     TIMESTAMPTZ,
    PRIMARY KEY (organization_id, id)
);
-- The workers' claim: the queued jobs that are due, oldest due first.
CREATE INDEX jobs_due_idx ON jobs (run_at) WHERE status = 'queued';
-- Leases to take back from a worker that stopped.
CREATE INDEX jobs_lease_idx ON jobs (locked_until) WHERE status = 'running';
-- The admins' list, newest first, with or without a status.
CREATE INDEX jobs_list_idx ON jobs (organization_id, created_at, id);
CREATE INDEX jobs_status_idx ON jobs (organization_id, status, created_at, id);
