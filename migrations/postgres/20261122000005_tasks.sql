-- Tasks (api.md §5 "Tasks"): assigned to a member, optionally on a deal and a
-- contact. owner_id is who created (owns) the task; assignee_id who does it.
CREATE TABLE tasks (
    organization_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              UUID NOT NULL,
    owner_id        UUID NOT NULL,
    assignee_id     UUID NOT NULL,
    title           TEXT NOT NULL,
    description     TEXT,
    deal_id         UUID,
    contact_id      UUID,
    due_date        TIMESTAMPTZ,
    is_done         BOOLEAN NOT NULL DEFAULT FALSE,
    completed_at    TIMESTAMPTZ,
    tags            JSONB NOT NULL DEFAULT '[]',
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    version         BIGINT NOT NULL DEFAULT 1,
    PRIMARY KEY (organization_id, id)
);
-- Due date first, missing dates last: the default order, and "overdue".
CREATE INDEX tasks_due_idx ON tasks (organization_id, COALESCE(due_date, '9999-12-31T00:00:00+00:00'::timestamptz), id);
CREATE INDEX tasks_open_due_idx ON tasks (organization_id, is_done, due_date);
CREATE INDEX tasks_assignee_idx ON tasks (organization_id, assignee_id, is_done, due_date);
CREATE INDEX tasks_created_idx ON tasks (organization_id, created_at, id);
CREATE INDEX tasks_deal_idx ON tasks (organization_id, deal_id);
CREATE INDEX tasks_contact_idx ON tasks (organization_id, contact_id);
