-- Monitoring: the history's snapshots, and indexes for the figures computed over time ranges.

-- One row per 5-minute slot: what ended in it. Kept after retention deletes the executions,
-- and pruned after AGENTED_MONITORING_RETENTION_DAYS.
CREATE TABLE monitoring_snapshots (
    slot        INTEGER PRIMARY KEY,                -- Unix time of the slot's start (a multiple of 300)
    runs        INTEGER NOT NULL,                   -- executions that ended in the slot
    failures    INTEGER NOT NULL,                   -- of those, ended neither success nor cancelled
    rate_limits INTEGER NOT NULL,                   -- of those, ended rate limited
    tokens      INTEGER NOT NULL,                   -- input + output tokens they reported
    cost_usd    REAL NOT NULL,                      -- cost they reported
    taken_at    TEXT NOT NULL                       -- when the slot was last computed
) STRICT;

CREATE INDEX executions_by_finished ON executions (finished_at);
CREATE INDEX executions_by_created ON executions (created_at);
