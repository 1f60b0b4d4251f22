-- The process group of a running CLI and its leader's start time, so that the next start
-- after a crash can stop a CLI that outlived the server, and only that one (pids are reused).
ALTER TABLE executions ADD COLUMN process_group INTEGER;
ALTER TABLE executions ADD COLUMN process_started TEXT;
