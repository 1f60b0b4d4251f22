-- What fires a bot: webhook matching and signing, GitHub filters, schedules;
-- delivery deduplication, PR review records and skipped scheduled runs.

ALTER TABLE bots ADD COLUMN webhook_secret_sealed TEXT;   -- Fernet token, never the secret
ALTER TABLE bots ADD COLUMN match_field_path TEXT;
ALTER TABLE bots ADD COLUMN match_field_value TEXT;
ALTER TABLE bots ADD COLUMN text_field_path TEXT;
ALTER TABLE bots ADD COLUMN detection_keyword TEXT;
ALTER TABLE bots ADD COLUMN repositories TEXT NOT NULL DEFAULT '[]';   -- JSON list of owner/name
ALTER TABLE bots ADD COLUMN include_drafts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE bots ADD COLUMN schedule_type TEXT;
ALTER TABLE bots ADD COLUMN schedule_time TEXT;
ALTER TABLE bots ADD COLUMN schedule_day INTEGER;
ALTER TABLE bots ADD COLUMN cron_expression TEXT;
ALTER TABLE bots ADD COLUMN schedule_timezone TEXT;

CREATE TABLE webhook_deliveries (
    key         TEXT PRIMARY KEY,                       -- source + delivery id or body hash
    received_at REAL NOT NULL                           -- Unix time
) STRICT;

CREATE INDEX webhook_deliveries_by_age ON webhook_deliveries (received_at);

CREATE TABLE pr_reviews (
    id             TEXT PRIMARY KEY,
    trigger_id     TEXT REFERENCES bots (id) ON DELETE SET NULL,
    execution_id   TEXT REFERENCES executions (id) ON DELETE SET NULL,
    repo_full_name TEXT NOT NULL,
    pr_number      INTEGER NOT NULL,
    pr_title       TEXT NOT NULL,
    pr_url         TEXT NOT NULL,
    pr_author      TEXT NOT NULL,
    action         TEXT NOT NULL,
    head_sha       TEXT,
    created_at     TEXT NOT NULL
) STRICT;

CREATE INDEX pr_reviews_by_repo ON pr_reviews (repo_full_name, created_at);

CREATE TABLE schedule_skips (
    id          INTEGER PRIMARY KEY,
    trigger_id  TEXT NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    skipped_at  TEXT NOT NULL,
    reason      TEXT NOT NULL
) STRICT;
