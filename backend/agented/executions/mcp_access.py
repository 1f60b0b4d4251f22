"""How a run of an agent's bot reaches `/mcp`: its grant, and each CLI's way to be told.

Two pieces, because they may run on two machines:

- `McpAccess` is the server's: the URL its runs reach `/mcp` at, and each run's
  token (run_tokens.py: scoped to its agent and execution, refused once the run
  has ended). It hands out an `McpGrant` per run.
- `McpSettings` is wherever the CLI runs (the server for a local run, the worker
  for a run on a worker, which gets the grant in its job): it turns a grant into
  the CLI's options, its settings files and its environment, in a private
  directory per run (mode 0700, files 0600), removed when the CLI has ended.

The token never goes on the command line (which is recorded and visible in
`ps`): the CLI finds it in its environment (`AGENTED_MCP_TOKEN`) or in a
settings file in the run's directory:

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

The CLI's MCP options are added to its argv where it runs, when it starts
(`McpSettings.applied`), not when the run is recorded: claude's names a file in
the run's directory, which only the machine running the CLI can name (a
worker's is its own temporary directory, which the server cannot know). So the
server records and sends the argv `build_command` made, without MCP options,
and whoever starts the CLI puts them at the place `backends.with_mcp_options`
keeps for them — one path for local runs and runs on workers alike, and the
recorded command never names a directory that is gone once the run ended.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..run_tokens import RunTokens
from .backends import with_mcp_options

logger = logging.getLogger(__name__)

SERVER_NAME = "agented"
TOKEN_ENV = "AGENTED_MCP_TOKEN"
URL_ENV = "AGENTED_MCP_URL"
CLAUDE_CONFIG = "claude-mcp.json"
GEMINI_HOME = "gemini-home"  # the run's GEMINI_CLI_HOME
GEMINI_DIR = ".gemini"
GEMINI_SETTINGS = "settings.json"
OPENCODE_CONFIG = "opencode.json"


@dataclass(frozen=True, slots=True)
class McpGrant:
    """What one run's CLI needs to reach `/mcp` as its agent: which CLI it is (each is told
    its own way), the URL, and the run's token (a secret: out of the repr)."""

    backend_type: str
    url: str
    token: str = field(repr=False)


class McpAccess:
    """The server's side: where its runs reach `/mcp`, and the grant of each run."""

    def __init__(self, url: str, tokens: RunTokens) -> None:
        self._url = url
        self._tokens = tokens

    def grant(self, execution_id: str, agent_id: str, backend_type: str) -> McpGrant:
        return McpGrant(backend_type, self._url, self._tokens.issue(execution_id, agent_id))


class McpSettings:
    """The MCP settings of the runs whose CLIs run on this machine, each in a directory of
    its own inside one private directory, made when the first run needs it."""

    def __init__(self) -> None:
        self._root: Path | None = None

    def run_dir(self, execution_id: str) -> Path:
        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix="agented-mcp-"))
        return self._root / execution_id

    @contextlib.contextmanager
    def applied(
        self,
        execution_id: str,
        grant: McpGrant | None,
        argv: Sequence[str],
        environ: Mapping[str, str],
    ) -> Iterator[tuple[list[str], dict[str, str]]]:
        """The CLI's argv and environment pointed at `/mcp` by `grant` (as given without one),
        its settings files in place until the block ends, however it ends."""
        if grant is None:
            yield list(argv), dict(environ)
            return
        try:
            extra = self._prepare(execution_id, grant, environ)
            options = self._arguments(execution_id, grant)
            yield with_mcp_options(grant.backend_type, argv, options), {**environ, **extra}
        finally:
            self.forget(execution_id)

    def _arguments(self, execution_id: str, grant: McpGrant) -> list[str]:
        """The options that point the CLI at `/mcp` (no secret in them: argv is recorded)."""
        match grant.backend_type:
            case "claude":
                # `-p` refuses a tool it would have to ask about; the server's tools are
                # the run's own bus, so they are allowed (its name allows all of them).
                config = str(self.run_dir(execution_id) / CLAUDE_CONFIG)
                return ["--mcp-config", config, "--allowedTools", f"mcp__{SERVER_NAME}"]
            case "codex":
                prefix = f"mcp_servers.{SERVER_NAME}"
                return [
                    *("-c", f"{prefix}.url={json.dumps(grant.url)}"),
                    *("-c", f"{prefix}.bearer_token_env_var={json.dumps(TOKEN_ENV)}"),
                    *("-c", f'{prefix}.default_tools_approval_mode="approve"'),
                ]
            case _:
                return []

    def _prepare(
        self, execution_id: str, grant: McpGrant, environ: Mapping[str, str]
    ) -> dict[str, str]:
        """Write the run's settings files; the variables to add to the CLI's environment
        `environ` (which says where gemini's own home is)."""
        directory = self.run_dir(execution_id)
        directory.mkdir(mode=0o700)
        url = grant.url
        headers = {"Authorization": f"Bearer {grant.token}"}
        environment = {URL_ENV: url, TOKEN_ENV: grant.token}
        files: dict[str, Any] = {}
        server: dict[str, Any]
        match grant.backend_type:
            case "claude":
                server = {"type": "http", "url": url, "headers": headers}
                files[CLAUDE_CONFIG] = {"mcpServers": {SERVER_NAME: server}}
            case "gemini":
                server = {"httpUrl": url, "headers": headers, "trust": True}
                users = _gemini_home(environ)
                settings = _gemini_settings(users / GEMINI_SETTINGS)
                settings["mcpServers"] = {**settings.get("mcpServers", {}), SERVER_NAME: server}
                run_home = directory / GEMINI_HOME
                _link_entries(users, run_home / GEMINI_DIR, but=GEMINI_SETTINGS)
                files[f"{GEMINI_HOME}/{GEMINI_DIR}/{GEMINI_SETTINGS}"] = settings
                environment["GEMINI_CLI_HOME"] = str(run_home)
            case "opencode":
                server = {"type": "remote", "url": url, "headers": headers, "enabled": True}
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
        if self._root is not None:
            # Removes the links into the user's gemini home, never what they point at.
            shutil.rmtree(self._root / execution_id, ignore_errors=True)

    def close(self) -> None:
        if self._root is not None:
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
