-- Agents and the messages between them. A bot acts as at most one agent (bots.agent_id).
-- Deleting an agent keeps every message it sent or received: its id becomes NULL there and
-- the name kept beside it still tells who it was.

CREATE TABLE agents (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL UNIQUE,                   -- name.casefold(): unique ignoring case
    role        TEXT,
    description TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;

ALTER TABLE bots ADD COLUMN agent_id TEXT REFERENCES agents (id) ON DELETE SET NULL;

CREATE TABLE agent_messages (
    id              TEXT PRIMARY KEY,
    to_agent_id     TEXT REFERENCES agents (id) ON DELETE SET NULL,
    to_agent_name   TEXT NOT NULL,
    inbox_seq       INTEGER NOT NULL,                   -- 1, 2, ... per recipient: its stream ids
    from_agent_id   TEXT REFERENCES agents (id) ON DELETE SET NULL,
    from_agent_name TEXT NOT NULL,
    message_type    TEXT NOT NULL,
    priority        TEXT NOT NULL,
    subject         TEXT,
    content         TEXT NOT NULL,
    ttl_seconds     INTEGER,
    in_reply_to     TEXT,                               -- a message id; not a key, it may go
    status          TEXT NOT NULL,                      -- pending, delivered, read, expired
    created_at      TEXT NOT NULL,
    expires_at      TEXT,
    delivered_at    TEXT,
    read_at         TEXT
) STRICT;

CREATE UNIQUE INDEX agent_messages_by_inbox ON agent_messages (to_agent_id, inbox_seq)
    WHERE to_agent_id IS NOT NULL;
CREATE INDEX agent_messages_by_sender ON agent_messages (from_agent_id, created_at);
CREATE INDEX agent_messages_by_reply ON agent_messages (in_reply_to);
CREATE INDEX agent_messages_unread_by_expiry ON agent_messages (expires_at)
    WHERE status IN ('pending', 'delivered') AND expires_at IS NOT NULL;
CREATE INDEX bots_by_agent ON bots (agent_id);
