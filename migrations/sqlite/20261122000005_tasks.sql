-- Tasks (api.md §5 "Tasks"): assigned to a member, optionally on a deal and a
-- contact. owner_id is who created (owns) the task; assignee_id who does it.
CREATE TABLE tasks (
    organization_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              BLOB NOT NULL,
    owner_id        BLOB NOT NULL,
    assignee_id     BLOB NOT NULL,
    title           TEXT NOT NULL,
    description     TEXT,
    deal_id         BLOB,
    contact_id      BLOB,
    due_date        TEXT,
    is_done         INTEGER NOT NULL DEFAULT 0,
    completed_at    TEXT,
    tags            TEXT NOT NULL DEFAULT '[]',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    version         INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (organization_id, id)
);
-- Due date first, missing dates last: the default order, and "overdue".
CREATE INDEX tasks_due_idx ON tasks (organization_id, COALESCE(due_date, '9999-12-31T00:00:00+00:00'), id);
CREATE INDEX tasks_open_due_idx ON tasks (organization_id, is_done, due_date);
CREATE INDEX tasks_assignee_idx ON tasks (organization_id, assignee_id, is_done, due_date);
CREATE INDEX tasks_created_idx ON tasks (organization_id, created_at, id);
CREATE INDEX tasks_deal_idx ON tasks (organization_id, deal_id);
CREATE INDEX tasks_contact_idx ON tasks (organization_id, contact_id);
