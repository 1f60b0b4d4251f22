-- The whole schema as SQLite's migrations 0001-0011 leave it, in PostgreSQL's types.
-- Columns keep SQLite's storage conventions, so one SQL text serves both engines:
-- timestamps as ISO-8601 text, JSON as text, booleans as 0/1 integers, Unix times as
-- double precision. SQLite's implicit rowid, which two queries order by, is an explicit
-- identity column named the same on the tables they read.

CREATE TABLE instance (
    key   text PRIMARY KEY,
    value text NOT NULL
);

INSERT INTO instance (key, value)
VALUES ('created_at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'));

CREATE TABLE agents (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    name_key    text NOT NULL UNIQUE,                   -- name.casefold(): unique ignoring case
    role        text,
    description text,
    created_at  text NOT NULL,
    updated_at  text NOT NULL
);

CREATE TABLE bots (
    id                    text PRIMARY KEY,
    name                  text NOT NULL,
    name_key              text NOT NULL UNIQUE,         -- casefolded name: unique ignoring case
    prompt_template       text NOT NULL,
    backend_type          text NOT NULL,
    trigger_source        text NOT NULL,
    enabled               bigint NOT NULL,
    model                 text,
    allowed_tools         text,
    output_format         text NOT NULL,
    paths                 text NOT NULL,                -- JSON list of directories
    command               text,                         -- JSON argv list for backend "command"
    timeout_seconds       bigint NOT NULL,
    sigterm_grace_seconds bigint NOT NULL,
    allow_concurrent_runs bigint NOT NULL,
    created_at            text NOT NULL,
    updated_at            text NOT NULL,
    webhook_secret_sealed text,                         -- Fernet token, never the secret
    match_field_path      text,
    match_field_value     text,
    text_field_path       text,
    detection_keyword     text,
    repositories          text NOT NULL DEFAULT '[]',   -- JSON list of owner/name
    include_drafts        bigint NOT NULL DEFAULT 0,
    schedule_type         text,
    schedule_time         text,
    schedule_day          bigint,
    cron_expression       text,
    schedule_timezone     text,
    agent_id              text REFERENCES agents (id) ON DELETE SET NULL,
    account_chain         text NOT NULL DEFAULT '[]',   -- JSON list of account ids
    daily_usd_limit       double precision,
    monthly_usd_limit     double precision,
    daily_token_limit     bigint,
    monthly_token_limit   bigint,
    runs_numbered         bigint NOT NULL DEFAULT 0
);

CREATE INDEX bots_by_agent ON bots (agent_id);

CREATE TABLE accounts (
    id                  text PRIMARY KEY,
    name                text NOT NULL,
    name_key            text NOT NULL UNIQUE,           -- name.casefold(): unique ignoring case
    backend             text NOT NULL,
    env                 text NOT NULL,                  -- JSON object of plain variables
    is_default          bigint NOT NULL,
    secret_env_names    text NOT NULL,                  -- JSON list: the names, never the values
    secret_env_sealed   text,                           -- SecretBox-sealed JSON object of them
    limited_until       text,                           -- set by a rate-limited run
    limited_reason      text,
    created_at          text NOT NULL,
    updated_at          text NOT NULL,
    daily_usd_limit     double precision,
    monthly_usd_limit   double precision,
    daily_token_limit   bigint,
    monthly_token_limit bigint
);

CREATE UNIQUE INDEX accounts_default_per_backend ON accounts (backend) WHERE is_default = 1;

CREATE TABLE executions (
    id              text PRIMARY KEY,
    seq             bigint NOT NULL UNIQUE,             -- creation order, for stable paging
    bot_id          text REFERENCES bots (id) ON DELETE SET NULL,
    bot_name        text NOT NULL,                      -- kept when the bot is deleted
    trigger_type    text NOT NULL,
    status          text NOT NULL,
    backend_type    text NOT NULL,
    prompt          text NOT NULL,
    command         text NOT NULL,                      -- JSON argv list
    created_at      text NOT NULL,
    started_at      text,
    finished_at     text,
    duration_ms     bigint,
    exit_code       bigint,
    error_message   text,
    usage           text,                               -- JSON token usage and cost
    retry_of        text,                               -- the execution this one retries
    attempt         bigint NOT NULL DEFAULT 0,
    log_lines       bigint NOT NULL DEFAULT 0,          -- highest log seq persisted
    process_group   bigint,
    process_started text,
    account_id      text REFERENCES accounts (id) ON DELETE SET NULL,
    not_before      text,                               -- while waiting: when it may start
    waiting_reason  text,
    session_id      text,
    run_number      bigint NOT NULL DEFAULT 0,
    rerun_of        text,                               -- the run this one re-runs
    input_summary   text NOT NULL DEFAULT '',           -- the message, or the payload's gist
    trigger_details text                                -- JSON: delivery id, PR, schedule
);

CREATE INDEX executions_by_bot ON executions (bot_id, seq);
CREATE INDEX executions_by_status ON executions (status, seq);
CREATE INDEX executions_spend_by_bot ON executions (bot_id, finished_at);
CREATE INDEX executions_spend_by_account ON executions (account_id, finished_at);
CREATE INDEX executions_by_finished ON executions (finished_at);
CREATE INDEX executions_by_created ON executions (created_at);
CREATE INDEX executions_by_trigger_type ON executions (trigger_type, seq);
CREATE INDEX executions_by_bot_number ON executions (bot_id, run_number);

CREATE TABLE execution_logs (
    execution_id text NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    seq          bigint NOT NULL,
    stream       text NOT NULL,
    content      text NOT NULL,
    timestamp    double precision NOT NULL,             -- Unix time
    PRIMARY KEY (execution_id, seq)
);

CREATE TABLE execution_inputs (
    execution_id text PRIMARY KEY REFERENCES executions (id) ON DELETE CASCADE,
    context      text NOT NULL                          -- JSON object
);

CREATE TABLE retries (
    id                 text PRIMARY KEY,
    bot_id             text REFERENCES bots (id) ON DELETE CASCADE,
    execution_id       text NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    attempt            bigint NOT NULL,
    due_at             text NOT NULL,
    reason             text NOT NULL,
    context            text NOT NULL,                   -- JSON template context
    status             text NOT NULL,                   -- pending | started | cancelled
    retry_execution_id text,
    created_at         text NOT NULL,
    parked             bigint NOT NULL DEFAULT 0        -- 1: a waiting execution
);

CREATE INDEX retries_by_status ON retries (status, due_at);

CREATE TABLE webhook_deliveries (
    key         text PRIMARY KEY,                       -- source + delivery id or body hash
    received_at double precision NOT NULL               -- Unix time
);

CREATE INDEX webhook_deliveries_by_age ON webhook_deliveries (received_at);

CREATE TABLE pr_reviews (
    rowid          bigint GENERATED ALWAYS AS IDENTITY, -- arrival order (SQLite's rowid)
    id             text PRIMARY KEY,
    bot_id         text REFERENCES bots (id) ON DELETE SET NULL,
    execution_id   text REFERENCES executions (id) ON DELETE SET NULL,
    repo_full_name text NOT NULL,
    pr_number      bigint NOT NULL,
    pr_title       text NOT NULL,
    pr_url         text NOT NULL,
    pr_author      text NOT NULL,
    action         text NOT NULL,
    head_sha       text,
    created_at     text NOT NULL
);

CREATE INDEX pr_reviews_by_repo ON pr_reviews (repo_full_name, created_at);

CREATE TABLE schedule_skips (
    id         bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    bot_id     text NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    skipped_at text NOT NULL,
    reason     text NOT NULL
);

CREATE TABLE agent_messages (
    rowid             bigint GENERATED ALWAYS AS IDENTITY, -- arrival order (SQLite's rowid)
    id                text PRIMARY KEY,
    to_agent_id       text REFERENCES agents (id) ON DELETE SET NULL,
    to_agent_name     text NOT NULL,
    inbox_seq         bigint NOT NULL,                  -- 1, 2, ... per recipient
    from_agent_id     text REFERENCES agents (id) ON DELETE SET NULL,
    from_agent_name   text NOT NULL,
    message_type      text NOT NULL,
    priority          text NOT NULL,
    subject           text,
    content           text NOT NULL,
    ttl_seconds       bigint,
    in_reply_to       text,                             -- a message id; not a key, it may go
    status            text NOT NULL,                    -- pending, delivered, read, expired
    created_at        text NOT NULL,
    expires_at        text,
    delivered_at      text,
    read_at           text,
    from_execution_id text                              -- the run that sent it over MCP
);

CREATE UNIQUE INDEX agent_messages_by_inbox ON agent_messages (to_agent_id, inbox_seq)
    WHERE to_agent_id IS NOT NULL;
CREATE INDEX agent_messages_by_sender ON agent_messages (from_agent_id, created_at);
CREATE INDEX agent_messages_by_reply ON agent_messages (in_reply_to);
CREATE INDEX agent_messages_unread_by_expiry ON agent_messages (expires_at)
    WHERE status IN ('pending', 'delivered') AND expires_at IS NOT NULL;
CREATE INDEX agent_messages_by_sender_arrival ON agent_messages (from_agent_id, rowid);

CREATE TABLE monitoring_snapshots (
    slot        bigint PRIMARY KEY,                     -- Unix time of the slot's start
    runs        bigint NOT NULL,
    failures    bigint NOT NULL,
    rate_limits bigint NOT NULL,
    tokens      bigint NOT NULL,
    cost_usd    double precision NOT NULL,
    taken_at    text NOT NULL
);

CREATE TABLE delivery_records (
    id           bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,  -- arrival order
    bot_id       text REFERENCES bots (id) ON DELETE CASCADE,          -- NULL: no bot
    received_at  text NOT NULL,
    source       text NOT NULL,                         -- webhook | bot | github
    delivery_id  text,
    event        text,
    outcome      text NOT NULL,                         -- accepted | refused | duplicate | ignored
    reason       text,
    execution_id text                                   -- not a key: retention deletes runs
);

CREATE INDEX delivery_records_by_bot ON delivery_records (bot_id, id);
CREATE INDEX delivery_records_by_time ON delivery_records (received_at);
