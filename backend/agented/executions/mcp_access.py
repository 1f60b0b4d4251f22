"""How a run of an agent's bot reaches `/mcp`: its token, and each CLI's way to be told.

Each run gets a token scoped to its agent and execution (security/run_tokens.py).
It never goes on the command line (which is recorded and visible in `ps`): the
CLI finds it in its environment (`AGENTED_MCP_TOKEN`) or in a settings file in
the run's own directory (mode 0700, removed when the run ends):

- Claude Code: `--mcp-config <run dir>/claude-mcp.json` (an `http` server).
- Codex: `-c mcp_servers.agented.url=...` and `bearer_token_env_var`.
- Gemini CLI: its system settings file, named by `GEMINI_CLI_SYSTEM_SETTINGS_PATH`.
- opencode: its config file, named by `OPENCODE_CONFIG` (a `remote` server).
- A `command` bot: `AGENTED_MCP_URL` and `AGENTED_MCP_TOKEN`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ..run_tokens import RunTokens

SERVER_NAME = "agented"
TOKEN_ENV = "AGENTED_MCP_TOKEN"
URL_ENV = "AGENTED_MCP_URL"
CLAUDE_CONFIG = "claude-mcp.json"
GEMINI_SETTINGS = "gemini-settings.json"
OPENCODE_CONFIG = "opencode.json"


class McpAccess:
    def __init__(self, url: str, tokens: RunTokens) -> None:
        self.url = url
        self._tokens = tokens
        # One private directory for this server's runs; each run has its own inside it.
        self._root = Path(tempfile.mkdtemp(prefix="agented-mcp-"))

    def run_dir(self, execution_id: str) -> Path:
        return self._root / execution_id

    def arguments(self, backend_type: str, execution_id: str) -> list[str]:
        """The options that point the CLI at `/mcp` (no secret in them: argv is recorded)."""
        match backend_type:
            case "claude":
                return ["--mcp-config", str(self.run_dir(execution_id) / CLAUDE_CONFIG)]
            case "codex":
                prefix = f"mcp_servers.{SERVER_NAME}"
                return [
                    *("-c", f"{prefix}.url={json.dumps(self.url)}"),
                    *("-c", f"{prefix}.bearer_token_env_var={json.dumps(TOKEN_ENV)}"),
                ]
            case _:
                return []

    def prepare(self, backend_type: str, execution_id: str, agent_id: str) -> dict[str, str]:
        """Write the run's settings files; the variables to add to the CLI's environment."""
        token = self._tokens.issue(execution_id, agent_id)
        directory = self.run_dir(execution_id)
        directory.mkdir(mode=0o700)
        headers = {"Authorization": f"Bearer {token}"}
        environment = {URL_ENV: self.url, TOKEN_ENV: token}
        files: dict[str, Any] = {}
        server: dict[str, Any]
        match backend_type:
            case "claude":
                server = {"type": "http", "url": self.url, "headers": headers}
                files[CLAUDE_CONFIG] = {"mcpServers": {SERVER_NAME: server}}
            case "gemini":
                server = {"httpUrl": self.url, "headers": headers, "trust": True}
                files[GEMINI_SETTINGS] = {"mcpServers": {SERVER_NAME: server}}
                environment["GEMINI_CLI_SYSTEM_SETTINGS_PATH"] = str(directory / GEMINI_SETTINGS)
            case "opencode":
                server = {"type": "remote", "url": self.url, "headers": headers, "enabled": True}
                files[OPENCODE_CONFIG] = {
                    "$schema": "https://opencode.ai/config.json",
                    "mcp": {SERVER_NAME: server},
                }
                environment["OPENCODE_CONFIG"] = str(directory / OPENCODE_CONFIG)
        for name, content in files.items():
            descriptor = os.open(directory / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as file:
                json.dump(content, file)
        return environment

    def forget(self, execution_id: str) -> None:
        shutil.rmtree(self.run_dir(execution_id), ignore_errors=True)

    def close(self) -> None:
        shutil.rmtree(self._root, ignore_errors=True)
