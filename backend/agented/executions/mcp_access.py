"""How a run of an agent's bot reaches `/mcp`: its token, and each CLI's way to be told.

Each run gets a token scoped to its agent and execution (security/run_tokens.py).
It never goes on the command line (which is recorded and visible in `ps`): the
CLI finds it in its environment (`AGENTED_MCP_TOKEN`) or in a settings file in
the run's own directory (mode 0700, removed when the run ends):

- Claude Code: `--mcp-config <run dir>/claude-mcp.json` (an `http` server), its tools
  allowed with `--allowedTools mcp__agented` (`-p` refuses a tool it would ask about).
- Codex: `-c mcp_servers.agented.url=...`, `bearer_token_env_var`, and its tools approved
  (`default_tools_approval_mode = "approve"`: `codex exec` refuses a call needing approval).
- Gemini CLI: a home of its own for the run (`GEMINI_CLI_HOME`) whose `.gemini/` holds the
  user's entries (linked) and the user's settings with the server added. Gemini reads a
  system settings file only when root owns it and every directory above it, so that is
  no way for a server run by a user.
- opencode: its config file, named by `OPENCODE_CONFIG` (a `remote` server).
- A `command` bot: `AGENTED_MCP_URL` and `AGENTED_MCP_TOKEN`.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..run_tokens import RunTokens

logger = logging.getLogger(__name__)

SERVER_NAME = "agented"
TOKEN_ENV = "AGENTED_MCP_TOKEN"
URL_ENV = "AGENTED_MCP_URL"
CLAUDE_CONFIG = "claude-mcp.json"
GEMINI_HOME = "gemini-home"  # the run's GEMINI_CLI_HOME
GEMINI_DIR = ".gemini"
GEMINI_SETTINGS = "settings.json"
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
                # `-p` refuses a tool it would have to ask about; the server's tools are
                # the run's own bus, so they are allowed (its name allows all of them).
                config = str(self.run_dir(execution_id) / CLAUDE_CONFIG)
                return ["--mcp-config", config, "--allowedTools", f"mcp__{SERVER_NAME}"]
            case "codex":
                prefix = f"mcp_servers.{SERVER_NAME}"
                return [
                    *("-c", f"{prefix}.url={json.dumps(self.url)}"),
                    *("-c", f"{prefix}.bearer_token_env_var={json.dumps(TOKEN_ENV)}"),
                    *("-c", f'{prefix}.default_tools_approval_mode="approve"'),
                ]
            case _:
                return []

    def prepare(
        self, backend_type: str, execution_id: str, agent_id: str, environ: Mapping[str, str]
    ) -> dict[str, str]:
        """Write the run's settings files; the variables to add to the CLI's environment
        `environ` (which says where gemini's own home is)."""
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
                users = _gemini_home(environ)
                settings = _gemini_settings(users / GEMINI_SETTINGS)
                settings["mcpServers"] = {**settings.get("mcpServers", {}), SERVER_NAME: server}
                run_home = directory / GEMINI_HOME
                _link_entries(users, run_home / GEMINI_DIR, but=GEMINI_SETTINGS)
                files[f"{GEMINI_HOME}/{GEMINI_DIR}/{GEMINI_SETTINGS}"] = settings
                environment["GEMINI_CLI_HOME"] = str(run_home)
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
        # Removes the links into the user's gemini home, never what they point at.
        shutil.rmtree(self.run_dir(execution_id), ignore_errors=True)

    def close(self) -> None:
        shutil.rmtree(self._root, ignore_errors=True)


def _gemini_home(environ: Mapping[str, str]) -> Path:
    """The `.gemini` directory the CLI would use: under GEMINI_CLI_HOME, else HOME."""
    home = environ.get("GEMINI_CLI_HOME") or environ.get("HOME") or str(Path.home())
    return Path(home) / GEMINI_DIR


def _gemini_settings(path: Path) -> dict[str, Any]:
    """The user's gemini settings, to keep (their sign-in type, their own MCP servers)."""
    try:
        settings = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:  # gemini allows comments; we cannot keep those
        logger.warning("gemini settings %s not kept for an agent's run: %s", path, error)
        return {}
    return settings if isinstance(settings, dict) else {}


def _link_entries(source: Path, target: Path, *, but: str) -> None:
    """Make `target` (a new directory) show what `source` holds, by links, except `but`:
    sign-in, history and extensions stay the user's own."""
    target.mkdir(mode=0o700, parents=True)
    try:
        entries = [entry for entry in source.iterdir() if entry.name != but]
    except OSError:  # no gemini home yet: the run starts from nothing
        return
    for entry in entries:
        (target / entry.name).symlink_to(entry)
