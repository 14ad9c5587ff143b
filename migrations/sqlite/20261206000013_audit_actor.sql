-- Who acted, as the audit log names it: `user:<id>`, `import:<id>`,
-- `automation:<id>` or `system` (the service layer is called by imports,
-- automations and the CLI as well as by signed-in users). `actor_id` keeps
-- carrying the user id of a user's action, and is null for the others.
-- Rows written before this column read as `user:<actor_id>`, or `system`
-- when they have no actor_id.
ALTER TABLE audit_log ADD COLUMN actor TEXT;
