-- Runs on workers (AGENTED_EXECUTOR=workers): the worker that ran an execution, and how its
-- CLI ended there, which the server reads to finish the run as it finishes a local one.
ALTER TABLE executions ADD COLUMN worker text;          -- its name; NULL: ran on the server
ALTER TABLE executions ADD COLUMN worker_outcome text;  -- JSON: exit code, timeout or stop, error
