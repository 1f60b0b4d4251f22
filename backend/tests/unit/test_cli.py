"""The terminal client without a server: its configuration, its command line, its exit codes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from agented.cli.commands import build_parser
from agented.cli.config import DEFAULT_URL, config_path, load_config
from agented.cli.exits import CliError, Exit, run_exit
from agented.cli.output import shown


def write_config(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def test_without_environment_or_file_the_client_talks_to_the_local_default_without_a_key(
    tmp_path: Path,
) -> None:
    config = load_config({"HOME": str(tmp_path)})

    assert config.url == DEFAULT_URL
    assert config.api_key is None
    assert config.path == tmp_path / ".config" / "agented" / "config.toml"


def test_the_config_file_gives_url_and_key_and_the_environment_overrides_it(
    tmp_path: Path,
) -> None:
    path = write_config(tmp_path / "c.toml", 'url = "https://agents.example/"\napi_key = "k1"\n')

    from_file = load_config({"AGENTED_CONFIG": str(path)})
    overridden = load_config(
        {"AGENTED_CONFIG": str(path), "AGENTED_URL": "http://h:1", "AGENTED_API_KEY": "k2"}
    )

    assert (from_file.url, from_file.api_key) == ("https://agents.example", "k1")
    assert (overridden.url, overridden.api_key) == ("http://h:1", "k2")


def test_the_default_file_is_under_xdg_config_home_when_it_is_set(tmp_path: Path) -> None:
    assert config_path({"XDG_CONFIG_HOME": str(tmp_path), "HOME": "/h"}) == (
        tmp_path / "agented" / "config.toml"
    )


def test_of_a_comma_separated_key_list_the_first_key_is_sent() -> None:
    config = load_config({"HOME": "/nonexistent", "AGENTED_API_KEY": " new , old"})

    assert config.api_key == "new"


def test_a_config_file_holding_a_key_that_others_may_read_is_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path / "c.toml", 'api_key = "k"\n', mode=0o644)

    with pytest.raises(
        CliError, match=r"others may read it \(mode 0644\); run: chmod 600"
    ) as error:
        load_config({"AGENTED_CONFIG": str(path)})
    assert error.value.code == Exit.CONFIG


def test_a_readable_config_file_without_a_key_is_fine(tmp_path: Path) -> None:
    path = write_config(tmp_path / "c.toml", 'url = "http://h:2"\n', mode=0o644)

    assert load_config({"AGENTED_CONFIG": str(path)}).url == "http://h:2"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("url = ", "not valid TOML"),
        ('token = "k"', r"unknown setting 'token' \(known: url, api_key\)"),
        ("url = 5", "url must be a string"),
        ('url = "localhost:20000"', "url in .* is not an http\\(s\\) URL"),
    ],
)
def test_a_bad_config_file_is_an_error_naming_the_setting(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write_config(tmp_path / "c.toml", text)

    with pytest.raises(CliError, match=message) as error:
        load_config({"AGENTED_CONFIG": str(path)})
    assert error.value.code == Exit.CONFIG


def test_a_missing_file_named_by_agented_config_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CliError, match=r"AGENTED_CONFIG: .* does not exist"):
        load_config({"AGENTED_CONFIG": str(tmp_path / "nope.toml")})


def test_a_bad_agented_url_is_an_error_naming_the_variable() -> None:
    with pytest.raises(CliError, match=r"AGENTED_URL: 'ftp://x' is not an http"):
        load_config({"HOME": "/nonexistent", "AGENTED_URL": "ftp://x"})


def test_run_takes_a_bot_a_message_or_a_payload_and_follow() -> None:
    args = build_parser().parse_args(["run", "my-bot", "-m", "hi", "--follow", "--json"])

    assert (args.bot, args.message, args.payload, args.follow, args.json) == (
        "my-bot",
        "hi",
        None,
        True,
        True,
    )


def test_run_refuses_a_message_and_a_payload_together(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["run", "b", "--message", "x", "--payload", "f.json"])

    assert exit_.value.code == Exit.USAGE
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["bots", "list", "--json"],
        ["logs", "exe_1", "-f", "--json"],
        ["cancel", "exe_1", "--json"],
        ["executions", "--status", "failed", "--bot", "b", "--limit", "5", "--json"],
    ],
)
def test_every_command_takes_json(argv: list[str]) -> None:
    assert build_parser().parse_args(argv).json is True


@pytest.mark.parametrize("argv", [["executions", "--limit", "0"], ["executions", "--status", "ok"]])
def test_executions_refuses_a_bad_limit_or_status(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(argv)

    assert "executions: error: argument" in capsys.readouterr().err


def test_each_outcome_of_a_run_has_its_own_exit_code_and_only_success_is_zero() -> None:
    codes = {status: run_exit(status) for status in ("success", "failed", "timeout")}
    more = {status: run_exit(status) for status in ("cancelled", "interrupted", "new-status")}

    assert codes == {"success": 0, "failed": 1, "timeout": 3}
    assert more == {"cancelled": 4, "interrupted": 5, "new-status": 1}
    assert len({int(code) for code in Exit}) == len(Exit)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_control_characters_from_a_bot_are_escaped_on_a_terminal_only() -> None:
    text = "\x1b]0;owned\x07red\x1b[31m\tok"

    assert shown(text, Terminal()) == "\\x1b]0;owned\\x07red\\x1b[31m\tok"
    assert shown(text, io.StringIO()) == text
