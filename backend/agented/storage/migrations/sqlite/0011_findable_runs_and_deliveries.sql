-- Runs a reader can find and re-run, and the webhook deliveries each bot received.

-- Each bot numbers its runs #1, #2, … A counter on the bot hands the numbers out,
-- so numbers are never reused, even once retention deleted the newest runs.
ALTER TABLE bots ADD COLUMN runs_numbered INTEGER NOT NULL DEFAULT 0;
ALTER TABLE executions ADD COLUMN run_number INTEGER NOT NULL DEFAULT 0;
ALTER TABLE executions ADD COLUMN rerun_of TEXT;                     -- the run this one re-runs
ALTER TABLE executions ADD COLUMN input_summary TEXT NOT NULL DEFAULT '';  -- the message, or the payload's gist
ALTER TABLE executions ADD COLUMN trigger_details TEXT;              -- JSON: delivery id, PR, schedule

-- Old runs get their numbers in creation order: per bot, or per name once the bot is gone.
UPDATE executions SET run_number = (
    SELECT COUNT(*) FROM executions AS earlier
    WHERE earlier.seq <= executions.seq
      AND (CASE WHEN executions.bot_id IS NULL
                THEN earlier.bot_id IS NULL AND earlier.bot_name = executions.bot_name
                ELSE earlier.bot_id = executions.bot_id END)
);
UPDATE bots SET runs_numbered = (
    SELECT COALESCE(MAX(run_number), 0) FROM executions WHERE executions.bot_id = bots.id
);

-- Filters of the executions list, each walking newest first (by time: 0010's executions_by_created).
CREATE INDEX executions_by_trigger_type ON executions (trigger_type, seq);
CREATE INDEX executions_by_bot_number ON executions (bot_id, run_number);

-- What fired a run, as its template received it (the message, a webhook's payload, a PR's
-- fields), kept apart from the executions table so lists never read it: a re-run starts
-- from it, and a run's page shows it (with secrets redacted).
CREATE TABLE execution_inputs (
    execution_id TEXT PRIMARY KEY REFERENCES executions (id) ON DELETE CASCADE,
    context      TEXT NOT NULL                      -- JSON object
) STRICT, WITHOUT ROWID;

-- Every webhook delivery and what became of it, kept for a while (housekeeping prunes by
-- age and by count per bot). Neither bodies nor signature headers are stored.
CREATE TABLE delivery_records (
    id           INTEGER PRIMARY KEY,               -- arrival order
    bot_id       TEXT REFERENCES bots (id) ON DELETE CASCADE,  -- NULL: no bot was concerned
    received_at  TEXT NOT NULL,
    source       TEXT NOT NULL,                     -- webhook | bot | github
    delivery_id  TEXT,
    event        TEXT,
    outcome      TEXT NOT NULL,                     -- accepted | refused | duplicate | ignored
    reason       TEXT,
    execution_id TEXT                               -- not a key: retention deletes runs
) STRICT;

CREATE INDEX delivery_records_by_bot ON delivery_records (bot_id, id);
CREATE INDEX delivery_records_by_time ON delivery_records (received_at);
