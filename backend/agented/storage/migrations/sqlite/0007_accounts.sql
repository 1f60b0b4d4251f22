-- Accounts: the logins and API keys a backend's CLI runs under, and which one each run used.
-- Deleting an account keeps the executions that ran on it: their account_id becomes NULL.

CREATE TABLE accounts (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    name_key          TEXT NOT NULL UNIQUE,             -- name.casefold(): unique ignoring case
    backend           TEXT NOT NULL,
    env               TEXT NOT NULL,                    -- JSON object of plain variables
    is_default        INTEGER NOT NULL,
    secret_env_names  TEXT NOT NULL,                    -- JSON list: the names, never the values
    secret_env_sealed TEXT,                             -- SecretBox-sealed JSON object of them
    limited_until     TEXT,                             -- set by a rate-limited run
    limited_reason    TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
) STRICT;

CREATE UNIQUE INDEX accounts_default_per_backend ON accounts (backend) WHERE is_default = 1;

ALTER TABLE executions ADD COLUMN account_id TEXT REFERENCES accounts (id) ON DELETE SET NULL;
