-- The execution that sent a message through the MCP endpoint; NULL for the admin API.
-- Not a key: executions are pruned by retention, messages keep their history.
ALTER TABLE agent_messages ADD COLUMN from_execution_id TEXT;
