-- Runs on workers (AGENTED_EXECUTOR=workers): the worker that ran an execution, and how its
-- CLI ended there, which the server reads to finish the run as it finishes a local one; the
-- label a bot's runs need their worker to have.
ALTER TABLE executions ADD COLUMN worker text;          -- its name; NULL: ran on the server
ALTER TABLE executions ADD COLUMN worker_outcome text;  -- JSON: exit code, timeout or stop, error
ALTER TABLE bots ADD COLUMN worker_label text;            -- NULL: any worker
