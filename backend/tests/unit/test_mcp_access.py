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
    environment = access.prepare("claude", "exe_1", "agt_1", {})
    argv = build_command("claude", "do it", mcp_args=arguments)
    assert argv[-2:] == [END_OF_OPTIONS, "do it"]
    config = argv[argv.index("--mcp-config") + 1]
    assert argv[argv.index("--mcp-config") + 2] == "--allowedTools"
    assert _read(config) == {
        "mcpServers": {"agented": {"type": "http", "url": URL, "headers": BEARER}}
    }
    assert stat.S_IMODE(Path(config).stat().st_mode) == 0o600
    assert stat.S_IMODE(Path(config).parent.stat().st_mode) == 0o700
    assert environment == {"AGENTED_MCP_URL": URL, "AGENTED_MCP_TOKEN": TOKEN}


def test_claude_may_call_the_servers_tools_without_asking_and_keeps_the_bots_allowed_tools(
    access: McpAccess,
) -> None:
    # `claude -p` refuses a tool it would have to ask about ("you haven't granted it yet").
    argv = build_command(
        "claude", "do it", allowed_tools="Read", mcp_args=access.arguments("claude", "exe_1")
    )
    allowed = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--allowedTools"]
    assert allowed == ["Read", "mcp__agented"]


def test_codex_gets_its_mcp_server_as_config_overrides_with_the_token_from_the_environment(
    access: McpAccess,
) -> None:
    argv = build_command("codex", "do it", mcp_args=access.arguments("codex", "exe_1"))
    assert argv[-2:] == [END_OF_OPTIONS, "do it"]
    # `codex exec` fails a tool call that needs approval ("approval policy is never").
    assert [argv[i + 1] for i, arg in enumerate(argv) if arg == "-c"] == [
        f'mcp_servers.agented.url="{URL}"',
        'mcp_servers.agented.bearer_token_env_var="AGENTED_MCP_TOKEN"',
        'mcp_servers.agented.default_tools_approval_mode="approve"',
    ]
    assert access.prepare("codex", "exe_1", "agt_1", {})["AGENTED_MCP_TOKEN"] == TOKEN


def test_gemini_gets_a_home_of_its_own_with_the_users_settings_and_the_server_added(
    access: McpAccess, tmp_path: Path
) -> None:
    # Gemini ignores a system settings file unless root owns it and every directory above
    # it: the server goes in the user settings of a home made for the run.
    users = tmp_path / ".gemini"
    users.mkdir()
    (users / "settings.json").write_text(
        json.dumps(
            {
                "security": {"auth": {"selectedType": "gemini-api-key"}},
                "mcpServers": {"theirs": {"command": "their-server"}},
            }
        )
    )
    (users / "oauth_creds.json").write_text("{}")
    environment = access.prepare("gemini", "exe_1", "agt_1", {"HOME": str(tmp_path)})
    assert access.arguments("gemini", "exe_1") == []
    run_dir = Path(environment["GEMINI_CLI_HOME"]) / ".gemini"
    assert _read(run_dir / "settings.json") == {
        "security": {"auth": {"selectedType": "gemini-api-key"}},
        "mcpServers": {
            "theirs": {"command": "their-server"},
            "agented": {"httpUrl": URL, "headers": BEARER, "trust": True},
        },
    }
    assert stat.S_IMODE((run_dir / "settings.json").stat().st_mode) == 0o600
    assert (run_dir / "oauth_creds.json").readlink() == users / "oauth_creds.json"
    access.forget("exe_1")
    assert (users / "oauth_creds.json").exists()  # the links went, not the user's files
    assert not run_dir.exists()


def test_gemini_s_home_follows_gemini_cli_home_and_may_not_exist_yet(
    access: McpAccess, tmp_path: Path
) -> None:
    (tmp_path / "gemini" / ".gemini").mkdir(parents=True)
    (tmp_path / "gemini" / ".gemini" / "installation_id").write_text("x")
    environ = {"HOME": str(tmp_path / "none"), "GEMINI_CLI_HOME": str(tmp_path / "gemini")}
    run_dir = Path(access.prepare("gemini", "exe_1", "agt_1", environ)["GEMINI_CLI_HOME"])
    assert sorted(path.name for path in (run_dir / ".gemini").iterdir()) == [
        "installation_id",
        "settings.json",
    ]
    fresh = access.prepare("gemini", "exe_2", "agt_1", {"HOME": str(tmp_path / "none")})
    settings = Path(fresh["GEMINI_CLI_HOME"]) / ".gemini" / "settings.json"
    assert list(settings.parent.iterdir()) == [settings]
    assert _read(settings)["mcpServers"]["agented"]["httpUrl"] == URL


def test_opencode_gets_a_config_file_named_in_its_environment(access: McpAccess) -> None:
    opencode = access.prepare("opencode", "exe_2", "agt_1", {})
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
    access.prepare("claude", "exe_1", "agt_1", {})
    assert access.run_dir("exe_1").exists()
    access.forget("exe_1")
    assert not access.run_dir("exe_1").exists()
