-- A log line no longer checks its execution through a foreign key: PostgreSQL checked it for
-- every row stored (a lookup and a row lock on the execution, ~8 µs a line, most of what
-- storing a line cost). Lines are only ever stored for a running execution, which is never
-- deleted; retention deletes a finished execution's lines itself (ExecutionStore).
ALTER TABLE execution_logs DROP CONSTRAINT IF EXISTS execution_logs_execution_id_fkey;
