"""Command lines of the backends, and prompts cut to fit one argv element."""

from __future__ import annotations

import subprocess
import sys

import pytest

from agented.executions.backends import (
    BACKEND_TYPES,
    MAX_ARG_BYTES,
    MAX_PROMPT_BYTES,
    CommandError,
    build_command,
    fit_prompt,
)


@pytest.mark.parametrize(
    ("backend_type", "options", "expected"),
    [
        (
            "claude",
            {},
            ["claude", "-p", "--verbose", "--output-format", "stream-json", "--", "P"],
        ),
        (
            "claude",
            {
                "output_format": "json",
                "allowed_tools": "Read,Grep",
                "model": "opus",
                "paths": ["/a", "/b"],
            },
            [
                *("claude", "-p", "--verbose", "--output-format", "json"),
                *("--allowedTools", "Read,Grep", "--model", "opus"),
                *("--add-dir", "/a", "--add-dir", "/b", "--", "P"),
            ],
        ),
        ("codex", {}, ["codex", "exec", "--json", "--skip-git-repo-check", "--", "P"]),
        (
            "codex",
            {"model": "o4-mini", "paths": ["/a", "/b"], "allowed_tools": "ignored"},
            [
                *("codex", "exec", "--json", "--skip-git-repo-check", "--model", "o4-mini"),
                *("--add-dir", "/a", "--add-dir", "/b", "--", "P"),
            ],
        ),
        ("gemini", {}, ["gemini", "--prompt=P", "--output-format", "json", "--skip-trust"]),
        (
            "gemini",
            {"model": "gemini-2.5-pro", "paths": ["/a", "/b"]},
            [
                *("gemini", "--prompt=P", "--output-format", "json", "--skip-trust"),
                *("--model", "gemini-2.5-pro", "--include-directories", "/a,/b"),
            ],
        ),
        ("opencode", {}, ["opencode", "run", "--format", "json", "--", "P"]),
        (
            "opencode",
            {"model": "anthropic/claude-sonnet-4", "paths": ["/a"]},
            [
                *("opencode", "run", "--format", "json"),
                *("--model", "anthropic/claude-sonnet-4", "--", "P"),
            ],
        ),
        (
            "claude",
            {"model": "", "allowed_tools": "", "paths": ()},
            ["claude", "-p", "--verbose", "--output-format", "stream-json", "--", "P"],
        ),
    ],
)
def test_backend_command_lines(
    backend_type: str, options: dict[str, object], expected: list[str]
) -> None:
    assert build_command(backend_type, "P", **options) == expected  # type: ignore[arg-type]


# Prompts that an option or subcommand parser would take for its own (all four CLIs refused
# the first three as unknown options, and codex ran `help` as its subcommand).
HOSTILE_PROMPTS = [
    "- list three colors",
    "--version",
    "---\ntitle: front matter\n---\nSummarise.",
    "-p",
    "--",
    "help",
    "review",
    "resume --last",
    "Say \"hi\" and 'bye'\non two lines",
    '"quoted whole"',
    "'single-quoted whole'",
    "--prompt=nested",
]


def end_of_options_operand(argv: list[str]) -> str:
    """What commander (claude), clap (codex) and yargs (opencode) take as the operand: everything
    after the first `--` is an operand, so a lone one there is the prompt."""
    marker = argv.index("--")
    [operand] = argv[marker + 1 :]
    return operand


def yargs_prompt(argv: list[str]) -> str:
    """What gemini's yargs-parser (21.x) reads from `--prompt=VALUE`: VALUE after the first `=`,
    newlines included, minus one pair of quotes around all of it."""
    [arg] = [arg for arg in argv if arg.startswith("--prompt=")]
    value = arg.partition("=")[2]
    if len(value) > 1 and value[0] in "'\"" and value[-1] == value[0]:
        value = value[1:-1]
    return value


@pytest.mark.parametrize("prompt", HOSTILE_PROMPTS)
@pytest.mark.parametrize("backend_type", ["claude", "codex", "opencode"])
def test_the_prompt_comes_after_the_end_of_options_marker(backend_type: str, prompt: str) -> None:
    argv = build_command(backend_type, prompt, model="m", paths=["/a"])
    assert end_of_options_operand(argv) == prompt
    assert argv.index("--") == len(argv) - 2  # no option of ours after it


@pytest.mark.parametrize("prompt", HOSTILE_PROMPTS)
def test_gemini_gets_the_prompt_glued_to_its_option(prompt: str) -> None:
    argv = build_command("gemini", prompt, model="m", paths=["/a"])
    assert yargs_prompt(argv).rstrip("\n") == prompt.rstrip("\n")
    assert prompt not in argv  # never a separate element a parser could read as an option


def test_gemini_prompt_is_exact_unless_quotes_wrap_all_of_it() -> None:
    assert build_command("gemini", "a\n'b'")[1] == "--prompt=a\n'b'"
    assert build_command("gemini", '"all"')[1] == '--prompt="all"\n'
    assert build_command("gemini", '"')[1] == '--prompt="'


def test_codex_and_gemini_run_in_any_directory_the_operator_chose() -> None:
    assert "--skip-git-repo-check" in build_command("codex", "P")
    assert "--skip-trust" in build_command("gemini", "P")


def test_command_backend_substitutes_the_prompt_literally() -> None:
    argv = build_command(
        "command",
        "say $(rm -rf /) {x} {prompt}",
        command=["my-agent", "--task={prompt}", "{}", "{{prompt}}", "{0}", "plain"],
    )
    prompt = "say $(rm -rf /) {x} {prompt}"
    assert argv == ["my-agent", f"--task={prompt}", "{}", f"{{{prompt}}}", "{0}", "plain"]


@pytest.mark.parametrize(
    ("backend_type", "options", "message"),
    [
        ("cursor", {}, "unknown backend type 'cursor'"),
        ("command", {}, "needs a command"),
        ("command", {"command": []}, "must start with the program"),
        ("command", {"command": ["", "{prompt}"]}, "must start with the program"),
        ("command", {"command": "my-agent {prompt}"}, "command must be a list of strings"),
        ("command", {"command": ["my-agent", 3]}, "command must be a list of strings"),
        ("command", {"command": ["my-agent", "a\0b"]}, "argument 1 contains a NUL"),
        ("command", {"command": ["my-agent", "\ud800"]}, "argument 1 is not valid text"),
        ("claude", {"output_format": "text"}, "output format 'text' is not one of"),
        ("claude", {"paths": "/repo"}, "paths must be a list of strings"),
        ("claude", {"paths": ["/repo", ""]}, "empty path"),
        ("gemini", {"paths": ["/a,b"]}, "comma"),
    ],
)
def test_bad_settings_raise_a_command_error_naming_the_problem(
    backend_type: str, options: dict[str, object], message: str
) -> None:
    with pytest.raises(CommandError, match=message.replace("(", r"\(")):
        build_command(backend_type, "P", **options)  # type: ignore[arg-type]


def test_every_backend_type_builds() -> None:
    for backend_type in BACKEND_TYPES:
        command = ["run", "{prompt}"] if backend_type == "command" else None
        argv = build_command(backend_type, "P", command=command)
        assert "P" in argv or "--prompt=P" in argv


def test_argument_over_the_kernel_limit_is_refused_before_spawning() -> None:
    with pytest.raises(CommandError, match=f"argument 1 is {MAX_ARG_BYTES + 1} bytes"):
        build_command("command", "", command=["x", "a" * (MAX_ARG_BYTES + 1)])
    template = ["x", "b" * (MAX_ARG_BYTES - MAX_PROMPT_BYTES) + "{prompt}"]
    assert len(build_command("command", "é" * MAX_PROMPT_BYTES, command=template)[1]) > 1


def test_short_prompt_is_unchanged() -> None:
    prompt = "Review PR #12 — ünïcödé, {braces}, $(shell) and\nnewlines"
    assert fit_prompt(prompt) == prompt
    exact = "a" * MAX_PROMPT_BYTES
    assert fit_prompt(exact) == exact


@pytest.mark.parametrize("unit", ["a", "é", "€", "😀"])
def test_long_prompt_is_cut_at_a_character_boundary_with_a_visible_marker(unit: str) -> None:
    prompt = unit * (MAX_PROMPT_BYTES // len(unit.encode()) + 777)
    total = len(prompt.encode())
    fitted = fit_prompt(prompt)
    size = len(fitted.encode())
    assert size <= MAX_PROMPT_BYTES
    assert size > MAX_PROMPT_BYTES - 100  # nothing much wasted
    body, marker = fitted.split("\n\n[prompt truncated by Agented: ")
    assert set(body) == {unit}
    assert marker == f"{len(body.encode())} of {total} bytes kept]"


def test_nul_and_lone_surrogates_cannot_break_the_spawn() -> None:
    fitted = fit_prompt("a\0b\ud800c")
    assert fitted == "a\ufffdb?c"
    assert build_command("claude", "a\0b")[-1] == "a\ufffdb"


def test_a_huge_prompt_reaches_the_program_cut_instead_of_failing_with_e2big() -> None:
    script = "import sys; print(len(sys.argv[1].encode()))"
    argv = build_command(
        "command", "z" * (4 * MAX_ARG_BYTES), command=[sys.executable, "-c", script, "{prompt}"]
    )
    completed = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True)
    assert int(completed.stdout) == len(argv[3].encode()) <= MAX_PROMPT_BYTES
