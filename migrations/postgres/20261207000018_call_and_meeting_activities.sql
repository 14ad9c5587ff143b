-- Calls and meetings logged by hand join the timeline's types (`call`,
-- `meeting`: payload `{"text", "occurred_at"}`). Existing rows already meet
-- the wider rule, so it is not checked against them again.
ALTER TABLE activities DROP CONSTRAINT activities_type_check;
ALTER TABLE activities ADD CONSTRAINT activities_type_check
    CHECK (type IN ('comment', 'call', 'meeting', 'status_changed', 'stage_changed', 'task_created', 'task_completed', 'system')) NOT VALID;
