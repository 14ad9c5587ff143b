-- Lists sort missing dates last with COALESCE (src/records/mod.rs), so the
-- indexes behind those sorts hold the same expression, written exactly as the
-- queries write it (SQLite matches index expressions by their text): the
-- plain-column indexes could not serve `sort=expected_close_date`, and "open /
-- overdue tasks in due order" walked past every done task.
DROP INDEX deals_close_idx;
CREATE INDEX deals_close_idx ON deals (organization_id, COALESCE(expected_close_date, '9999-12-31'), id);
DROP INDEX tasks_open_due_idx;
CREATE INDEX tasks_open_due_idx ON tasks (organization_id, is_done, COALESCE(due_date, '9999-12-31T00:00:00+00:00'), id);
DROP INDEX tasks_assignee_idx;
CREATE INDEX tasks_assignee_idx ON tasks (organization_id, assignee_id, is_done, COALESCE(due_date, '9999-12-31T00:00:00+00:00'), id);
