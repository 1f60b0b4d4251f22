-- Runs on workers (AGENTED_EXECUTOR=workers; SQLite never has any, but both engines keep one
-- schema): the worker that ran an execution, and how its CLI ended there, which the server
-- reads to finish the run as it finishes a local one; the label a bot's runs need their worker
-- to have.
ALTER TABLE executions ADD COLUMN worker TEXT;          -- its name; NULL: ran on the server
ALTER TABLE executions ADD COLUMN worker_outcome TEXT;  -- JSON: exit code, timeout or stop, error
ALTER TABLE bots ADD COLUMN worker_label TEXT;            -- NULL: any worker
