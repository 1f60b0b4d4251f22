-- Bots, their executions, the executions' log lines, and pending retries.

CREATE TABLE bots (
    id                    TEXT PRIMARY KEY,
    name                  TEXT NOT NULL,
    name_key              TEXT NOT NULL UNIQUE,      -- casefolded name: names are unique ignoring case
    prompt_template       TEXT NOT NULL,
    backend_type          TEXT NOT NULL,
    trigger_source        TEXT NOT NULL,
    enabled               INTEGER NOT NULL,
    model                 TEXT,
    allowed_tools         TEXT,
    output_format         TEXT NOT NULL,
    paths                 TEXT NOT NULL,             -- JSON list of directories
    command               TEXT,                      -- JSON argv list for backend "command"
    timeout_seconds       INTEGER NOT NULL,
    sigterm_grace_seconds INTEGER NOT NULL,
    allow_concurrent_runs INTEGER NOT NULL,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL
) STRICT;

CREATE TABLE executions (
    id             TEXT PRIMARY KEY,
    seq            INTEGER NOT NULL UNIQUE,          -- creation order, for stable paging
    trigger_id     TEXT REFERENCES bots (id) ON DELETE SET NULL,
    trigger_name   TEXT NOT NULL,                    -- kept when the bot is deleted
    trigger_type   TEXT NOT NULL,
    status         TEXT NOT NULL,
    backend_type   TEXT NOT NULL,
    prompt         TEXT NOT NULL,
    command        TEXT NOT NULL,                    -- JSON argv list
    created_at     TEXT NOT NULL,
    started_at     TEXT,
    finished_at    TEXT,
    duration_ms    INTEGER,
    exit_code      INTEGER,
    error_message  TEXT,
    usage          TEXT,                             -- JSON token usage and cost, when the CLI reports it
    retry_of       TEXT,                             -- the execution this one retries
    attempt        INTEGER NOT NULL DEFAULT 0,
    log_lines      INTEGER NOT NULL DEFAULT 0        -- highest log seq persisted
) STRICT;

CREATE INDEX executions_by_bot ON executions (trigger_id, seq);
CREATE INDEX executions_by_status ON executions (status, seq);

CREATE TABLE execution_logs (
    execution_id TEXT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    seq          INTEGER NOT NULL,
    stream       TEXT NOT NULL,
    content      TEXT NOT NULL,
    timestamp    REAL NOT NULL,                      -- Unix time; rendered as ISO-8601 on output
    PRIMARY KEY (execution_id, seq)
) STRICT, WITHOUT ROWID;

CREATE TABLE retries (
    id            TEXT PRIMARY KEY,
    trigger_id    TEXT REFERENCES bots (id) ON DELETE CASCADE,
    execution_id  TEXT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    attempt       INTEGER NOT NULL,
    due_at        TEXT NOT NULL,
    reason        TEXT NOT NULL,
    context       TEXT NOT NULL,                     -- JSON template context, to render the prompt again
    status        TEXT NOT NULL,                     -- pending | started | cancelled
    retry_execution_id TEXT,
    created_at    TEXT NOT NULL
) STRICT;

CREATE INDEX retries_by_status ON retries (status, due_at);
