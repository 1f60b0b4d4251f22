-- Fallback chains and spend limits: a bot's ordered accounts, spend limits of bots and
-- accounts, runs that wait (parked) until an account or a spend period frees up, and the
-- CLI's session id, which a run resumed on the same account continues.

ALTER TABLE bots ADD COLUMN account_chain TEXT NOT NULL DEFAULT '[]';   -- JSON list of account ids
ALTER TABLE bots ADD COLUMN daily_usd_limit REAL;
ALTER TABLE bots ADD COLUMN monthly_usd_limit REAL;
ALTER TABLE bots ADD COLUMN daily_token_limit INTEGER;
ALTER TABLE bots ADD COLUMN monthly_token_limit INTEGER;

ALTER TABLE accounts ADD COLUMN daily_usd_limit REAL;
ALTER TABLE accounts ADD COLUMN monthly_usd_limit REAL;
ALTER TABLE accounts ADD COLUMN daily_token_limit INTEGER;
ALTER TABLE accounts ADD COLUMN monthly_token_limit INTEGER;

ALTER TABLE executions ADD COLUMN not_before TEXT;       -- while waiting: when it may start
ALTER TABLE executions ADD COLUMN waiting_reason TEXT;
ALTER TABLE executions ADD COLUMN session_id TEXT;

ALTER TABLE retries ADD COLUMN parked INTEGER NOT NULL DEFAULT 0;       -- 1: a waiting execution

-- Spend is summed per bot and per account over the current day and month.
CREATE INDEX executions_spend_by_bot ON executions (bot_id, finished_at);
CREATE INDEX executions_spend_by_account ON executions (account_id, finished_at);
