"""Each CLI is pointed at /mcp the way it reads its settings, and the token is never on argv."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from agented.executions.backends import END_OF_OPTIONS, build_command
from agented.executions.mcp_access import McpAccess
from agented.run_tokens import RunTokens

URL = "http://127.0.0.1:8080/mcp"
TOKENS = RunTokens("k" * 32)
TOKEN = TOKENS.issue("exe_1", "agt_1")
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def access() -> Iterator[McpAccess]:
    made = McpAccess(URL, TOKENS)
    yield made
    made.close()


def _read(path: str | Path) -> dict:
    return json.loads(Path(path).read_text())


def test_claude_gets_an_mcp_config_file_before_the_prompt(access: McpAccess) -> None:
    arguments = access.arguments("claude", "exe_1")
    environment = access.prepare("claude", "exe_1", "agt_1")
    argv = build_command("claude", "do it", mcp_args=arguments)
    assert argv[-2:] == [END_OF_OPTIONS, "do it"]
    config = argv[argv.index("--mcp-config") + 1]
    assert _read(config) == {
        "mcpServers": {"agented": {"type": "http", "url": URL, "headers": BEARER}}
    }
    assert stat.S_IMODE(Path(config).stat().st_mode) == 0o600
    assert stat.S_IMODE(Path(config).parent.stat().st_mode) == 0o700
    assert environment == {"AGENTED_MCP_URL": URL, "AGENTED_MCP_TOKEN": TOKEN}


def test_codex_gets_its_mcp_server_as_config_overrides_with_the_token_from_the_environment(
    access: McpAccess,
) -> None:
    argv = build_command("codex", "do it", mcp_args=access.arguments("codex", "exe_1"))
    assert argv[-2:] == [END_OF_OPTIONS, "do it"]
    assert [argv[i + 1] for i, arg in enumerate(argv) if arg == "-c"] == [
        f'mcp_servers.agented.url="{URL}"',
        'mcp_servers.agented.bearer_token_env_var="AGENTED_MCP_TOKEN"',
    ]
    assert access.prepare("codex", "exe_1", "agt_1")["AGENTED_MCP_TOKEN"] == TOKEN


def test_gemini_and_opencode_get_settings_files_named_in_their_environment(
    access: McpAccess,
) -> None:
    gemini = access.prepare("gemini", "exe_1", "agt_1")
    assert access.arguments("gemini", "exe_1") == []
    assert _read(gemini["GEMINI_CLI_SYSTEM_SETTINGS_PATH"]) == {
        "mcpServers": {"agented": {"httpUrl": URL, "headers": BEARER, "trust": True}}
    }
    opencode = access.prepare("opencode", "exe_2", "agt_1")
    token_2 = TOKENS.issue("exe_2", "agt_1")
    assert _read(opencode["OPENCODE_CONFIG"])["mcp"] == {
        "agented": {
            "type": "remote",
            "url": URL,
            "headers": {"Authorization": f"Bearer {token_2}"},
            "enabled": True,
        }
    }


def test_a_runs_settings_go_when_it_ends(access: McpAccess) -> None:
    access.prepare("claude", "exe_1", "agt_1")
    assert access.run_dir("exe_1").exists()
    access.forget("exe_1")
    assert not access.run_dir("exe_1").exists()
