"""Each CLI is pointed at /mcp the way it reads its settings, and the token is never on argv.

The server issues a run's grant (`McpAccess`); wherever the CLI runs, `McpSettings`
turns it into options, files and environment for as long as the CLI runs. These
tests drive the second piece the way the server and a worker both do: `applied`.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agented.executions.backends import END_OF_OPTIONS, MCP_OPTIONS_AT, build_command
from agented.executions.mcp_access import McpAccess, McpGrant, McpSettings
from agented.run_tokens import RunTokens

URL = "http://127.0.0.1:8080/mcp"
TOKENS = RunTokens("k" * 32)
TOKEN = TOKENS.issue("exe_1", "agt_1")
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def settings() -> Iterator[McpSettings]:
    made = McpSettings()
    yield made
    made.close()


def grant(backend_type: str, execution_id: str = "exe_1") -> McpGrant:
    return McpAccess(URL, TOKENS).grant(execution_id, "agt_1", backend_type)


def _read(path: str | Path) -> Any:
    return json.loads(Path(path).read_text())


def test_the_server_grants_a_run_its_url_and_its_own_token_kept_out_of_the_repr() -> None:
    granted = McpAccess(URL, TOKENS).grant("exe_1", "agt_1", "claude")
    assert (granted.backend_type, granted.url, granted.token) == ("claude", URL, TOKEN)
    assert TOKENS.read(granted.token) == ("exe_1", "agt_1")
    assert TOKEN not in repr(granted)


def test_without_a_grant_argv_and_environment_stay_as_they_are(settings: McpSettings) -> None:
    argv = build_command("claude", "do it")
    with settings.applied("exe_1", None, argv, {"HOME": "/h"}) as (applied, environment):
        assert (applied, environment) == (argv, {"HOME": "/h"})
    assert not settings.run_dir("exe_1").exists()


def test_claude_gets_an_mcp_config_file_for_as_long_as_it_runs(settings: McpSettings) -> None:
    argv = build_command("claude", "do it")
    with settings.applied("exe_1", grant("claude"), argv, {}) as (applied, environment):
        assert applied[-2:] == [END_OF_OPTIONS, "do it"]
        config = Path(applied[applied.index("--mcp-config") + 1])
        assert applied[applied.index("--mcp-config") + 2] == "--allowedTools"
        assert _read(config) == {
            "mcpServers": {"agented": {"type": "http", "url": URL, "headers": BEARER}}
        }
        assert stat.S_IMODE(config.stat().st_mode) == 0o600
        assert stat.S_IMODE(config.parent.stat().st_mode) == 0o700
        assert environment == {"AGENTED_MCP_URL": URL, "AGENTED_MCP_TOKEN": TOKEN}
        assert all(TOKEN not in arg for arg in applied)
    assert not config.exists()
    assert not config.parent.exists()


def test_a_runs_settings_go_also_when_its_cli_fails(settings: McpSettings) -> None:
    def run_that_crashes() -> None:
        with settings.applied("exe_1", grant("opencode"), ["opencode"], {}) as (_, environment):
            assert Path(environment["OPENCODE_CONFIG"]).exists()
            raise RuntimeError("the CLI crashed")

    with pytest.raises(RuntimeError):
        run_that_crashes()
    assert not settings.run_dir("exe_1").exists()


def test_claude_may_call_the_servers_tools_without_asking_and_keeps_the_bots_allowed_tools(
    settings: McpSettings,
) -> None:
    # `claude -p` refuses a tool it would have to ask about ("you haven't granted it yet").
    argv = build_command("claude", "do it", allowed_tools="Read")
    with settings.applied("exe_1", grant("claude"), argv, {}) as (applied, _):
        allowed = [applied[i + 1] for i, arg in enumerate(applied) if arg == "--allowedTools"]
    assert sorted(allowed) == ["Read", "mcp__agented"]


def test_codex_gets_its_mcp_server_as_config_overrides_with_the_token_from_the_environment(
    settings: McpSettings,
) -> None:
    argv = build_command("codex", "do it")
    with settings.applied("exe_1", grant("codex"), argv, {}) as (applied, environment):
        assert applied[-2:] == [END_OF_OPTIONS, "do it"]
        # `codex exec` fails a tool call that needs approval ("approval policy is never").
        assert [applied[i + 1] for i, arg in enumerate(applied) if arg == "-c"] == [
            f'mcp_servers.agented.url="{URL}"',
            'mcp_servers.agented.bearer_token_env_var="AGENTED_MCP_TOKEN"',
            'mcp_servers.agented.default_tools_approval_mode="approve"',
        ]
        assert environment["AGENTED_MCP_TOKEN"] == TOKEN


@pytest.mark.parametrize("backend_type", ["claude", "codex"])
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"model": "m", "paths": ["/a", "/b"]},
        {"allowed_tools": "Read", "resume_session": "s-1", "output_format": "json"},
        {"model": "resume", "paths": ["--"], "resume_session": "s-1"},
    ],
)
def test_the_mcp_options_go_after_the_clis_fixed_words_in_every_argv_it_gets(
    settings: McpSettings, backend_type: str, options: dict[str, Any]
) -> None:
    # A worker adds them to an argv the server made: their place must not depend on the rest.
    claude_only = {"allowed_tools", "output_format"} if backend_type == "codex" else set()
    argv = build_command(
        backend_type, "do it", **{k: v for k, v in options.items() if k not in claude_only}
    )
    fixed = {
        "claude": ["claude", "-p", "--verbose", "--output-format", argv[4]],
        "codex": ["codex", "exec", "--json", "--skip-git-repo-check"],
    }[backend_type]
    slot = MCP_OPTIONS_AT[backend_type]
    assert argv[:slot] == fixed
    with settings.applied("exe_1", grant(backend_type), argv, {}) as (applied, _):
        added = applied[slot : slot + len(applied) - len(argv)]
        assert added[0] in {"--mcp-config", "-c"}
        assert applied[:slot] + applied[slot + len(added) :] == argv


def test_gemini_gets_a_home_of_its_own_with_the_users_settings_and_the_server_added(
    settings: McpSettings, tmp_path: Path
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
    argv = build_command("gemini", "do it")
    with settings.applied("exe_1", grant("gemini"), argv, {"HOME": str(tmp_path)}) as (
        applied,
        environment,
    ):
        assert applied == argv
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
    assert (users / "oauth_creds.json").exists()  # the links went, not the user's files
    assert not run_dir.exists()


def test_gemini_s_home_follows_gemini_cli_home_and_may_not_exist_yet(
    settings: McpSettings, tmp_path: Path
) -> None:
    (tmp_path / "gemini" / ".gemini").mkdir(parents=True)
    (tmp_path / "gemini" / ".gemini" / "installation_id").write_text("x")
    environ = {"HOME": str(tmp_path / "none"), "GEMINI_CLI_HOME": str(tmp_path / "gemini")}
    with settings.applied("exe_1", grant("gemini"), ["gemini"], environ) as (_, environment):
        run_dir = Path(environment["GEMINI_CLI_HOME"])
        assert sorted(path.name for path in (run_dir / ".gemini").iterdir()) == [
            "installation_id",
            "settings.json",
        ]
    fresh_environ = {"HOME": str(tmp_path / "none")}
    with settings.applied("exe_2", grant("gemini", "exe_2"), ["gemini"], fresh_environ) as (
        _,
        fresh,
    ):
        found = Path(fresh["GEMINI_CLI_HOME"]) / ".gemini" / "settings.json"
        assert list(found.parent.iterdir()) == [found]
        assert _read(found)["mcpServers"]["agented"]["httpUrl"] == URL


def test_opencode_gets_a_config_file_named_in_its_environment(settings: McpSettings) -> None:
    token_2 = TOKENS.issue("exe_2", "agt_1")
    with settings.applied("exe_2", grant("opencode", "exe_2"), ["opencode"], {}) as (_, opencode):
        assert _read(opencode["OPENCODE_CONFIG"])["mcp"] == {
            "agented": {
                "type": "remote",
                "url": URL,
                "headers": {"Authorization": f"Bearer {token_2}"},
                "enabled": True,
            }
        }


def test_a_command_bot_finds_url_and_token_in_its_environment(settings: McpSettings) -> None:
    argv = ["./agent", "do it"]
    with settings.applied("exe_1", grant("command"), argv, {"A": "1"}) as (applied, environment):
        assert applied == argv
        assert environment == {"A": "1", "AGENTED_MCP_URL": URL, "AGENTED_MCP_TOKEN": TOKEN}


def test_the_settings_directory_is_made_when_a_run_needs_it_and_goes_on_close() -> None:
    settings = McpSettings()
    settings.forget("exe_1")
    settings.close()  # nothing made, nothing to remove
    with settings.applied("exe_1", grant("claude"), build_command("claude", "x"), {}):
        root = settings.run_dir("exe_1").parent
        assert stat.S_IMODE(root.stat().st_mode) == 0o700
    settings.close()
    assert not root.exists()
