-- "Bot" is the record, "trigger" only what fires one: the columns that name a bot say so.
-- The API still shows the old names next to the new ones (see models.BotReference).
ALTER TABLE executions RENAME COLUMN trigger_id TO bot_id;
ALTER TABLE executions RENAME COLUMN trigger_name TO bot_name;
ALTER TABLE retries RENAME COLUMN trigger_id TO bot_id;
ALTER TABLE pr_reviews RENAME COLUMN trigger_id TO bot_id;
ALTER TABLE schedule_skips RENAME COLUMN trigger_id TO bot_id;
