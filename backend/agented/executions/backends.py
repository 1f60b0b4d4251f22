"""Command lines for the bot backends: always an argv list, never a shell string.

The prompt travels as one argv element, so nothing in it is ever interpreted by
a shell, and it sits where the CLI's own parser cannot take it for an option or
a subcommand: after the end-of-options marker `--` (claude, codex, opencode), or
glued to its option as `--prompt=...` (gemini, whose parser reads `-p -x` as a
missing value). A Markdown list or `---` front matter is an ordinary prompt, and
a Codex prompt that reads `help` or `review` asks the model, not the subcommand.

The flags are the CLIs' own non-interactive ones; each CLI is asked for
machine-readable output where it has it, which `output.OutputObserver` reads. A
bot's paths are directories its operator chose, so the CLIs are told not to
refuse them: Codex runs outside a git repository (`--skip-git-repo-check`),
Gemini trusts the workspace for the run (`--skip-trust`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import get_args

from ..models import BackendType, OutputFormat

BACKEND_TYPES: tuple[str, ...] = get_args(BackendType)
RESUMABLE: tuple[str, ...] = ("claude", "codex")  # the CLIs that continue a session by its id
CLAUDE_OUTPUT_FORMATS: tuple[str, ...] = get_args(OutputFormat)

# Where the MCP options go in each CLI's argv: after `claude -p --verbose --output-format
# <format>` and after `codex exec --json --skip-git-repo-check` (options, not operands, in
# both parsers; before `--`, and before codex's `resume` subcommand).
MCP_OPTIONS_AT = {"claude": 5, "codex": 4}

# Linux refuses any single argv element longer than MAX_ARG_STRLEN (32 pages,
# 131,072 bytes with its NUL) with E2BIG, and a prompt rendered from a large pull
# request or webhook payload easily gets there. Prompts are cut to 100,000 bytes,
# which leaves room for the text a `command` template wraps around `{prompt}`.
MAX_PROMPT_BYTES = 100_000
MAX_ARG_BYTES = 131_071
PROMPT_PLACEHOLDER = "{prompt}"

_TRUNCATION_MARKER = "\n\n[prompt truncated by Agented: {kept} of {total} bytes kept]"
# Everything after it is an operand, never an option or a subcommand (POSIX
# utility syntax guideline 10; commander, clap and yargs all follow it).
END_OF_OPTIONS = "--"


class CommandError(ValueError):
    """A bot's command settings cannot make a command line; the message names the problem."""


def fit_prompt(prompt: str) -> str:
    """Make `prompt` fit in one argv element, cutting it visibly rather than failing to start.

    A prompt over MAX_PROMPT_BYTES of UTF-8 is cut at a character boundary and ends
    with a marker saying how much was kept; the result, marker included, fits.
    NUL (which argv cannot carry) and unencodable lone surrogates (possible in
    JSON payloads) become replacement characters instead of failing the spawn.
    """
    data = prompt.replace("\0", "\ufffd").encode("utf-8", "replace")
    if len(data) <= MAX_PROMPT_BYTES:
        return data.decode("utf-8")
    total = len(data)
    # Reserve room for the widest marker: `kept` never has more digits than the limit.
    room = MAX_PROMPT_BYTES - len(_marker(MAX_PROMPT_BYTES, total).encode())
    kept = data[:room].decode("utf-8", "ignore")  # drops a character cut in half
    return kept + _marker(len(kept.encode()), total)


def _marker(kept: int, total: int) -> str:
    return _TRUNCATION_MARKER.format(kept=kept, total=total)


def build_command(
    backend_type: str,
    prompt: str,
    *,
    model: str | None = None,
    allowed_tools: str | None = None,
    paths: Sequence[str] = (),
    command: Sequence[str] | None = None,
    output_format: str = "stream-json",
    resume_session: str | None = None,
) -> list[str]:
    """The argv that runs one bot; raises CommandError for settings that cannot work.

    `paths` are directories the agent may use besides its working directory (the
    caller runs it in the first one). A `command` backend is the user's own argv,
    with `{prompt}` replaced by the prompt in every element. The options that point
    claude or codex at the MCP endpoint are added where the CLI starts
    (`with_mcp_options`). `resume_session` continues that session of claude
    (`--resume <id>`) or codex (`exec ... resume <id> -- <prompt>`); the other
    backends start over.
    """
    paths = _strings(paths, "paths")
    if not all(paths):
        raise CommandError("paths must not contain an empty path")
    prompt = fit_prompt(prompt)
    model_args = ["--model", model] if model else []
    match backend_type:
        case "claude":
            if output_format not in CLAUDE_OUTPUT_FORMATS:
                raise CommandError(
                    f"output format {output_format!r} is not one of "
                    f"{', '.join(CLAUDE_OUTPUT_FORMATS)}"
                )
            # --verbose is required with stream-json; kept with json so both see the same run.
            argv = ["claude", "-p", "--verbose", "--output-format", output_format]
            if allowed_tools:
                argv += ["--allowedTools", allowed_tools]
            if resume_session:
                argv += ["--resume", resume_session]
            argv += [*model_args, *_repeat("--add-dir", paths), END_OF_OPTIONS, prompt]
        case "codex":
            argv = [
                *("codex", "exec", "--json", "--skip-git-repo-check"),
                *model_args,
                *_repeat("--add-dir", paths),
                # exec's options first: `resume` is a subcommand, its prompt after `--`.
                *(("resume", resume_session) if resume_session else ()),
                *(END_OF_OPTIONS, prompt),
            ]
        case "gemini":
            argv = ["gemini", _gemini_prompt(prompt), "--output-format", "json", "--skip-trust"]
            argv += model_args
            if paths:
                if any("," in path for path in paths):
                    raise CommandError("gemini cannot take a path containing a comma")
                argv += ["--include-directories", ",".join(paths)]
        case "opencode":
            argv = ["opencode", "run", "--format", "json", *model_args, END_OF_OPTIONS, prompt]
        case "command":
            if command is None:
                raise CommandError("a command backend needs a command: a list of arguments")
            argv = [arg.replace(PROMPT_PLACEHOLDER, prompt) for arg in _strings(command, "command")]
            if not argv or not argv[0]:
                raise CommandError("command must start with the program to run")
        case _:
            raise CommandError(
                f"unknown backend type {backend_type!r}; expected one of {', '.join(BACKEND_TYPES)}"
            )
    _check_args(argv)
    return argv


def with_mcp_options(backend_type: str, argv: Sequence[str], options: Sequence[str]) -> list[str]:
    """`argv` (as `build_command` made it) with the options that point the CLI at the MCP
    endpoint (mcp_access.py) in their place: right after the CLI's fixed leading words,
    where every argv of that backend has them, so that the machine that starts the CLI
    can add them to an argv made elsewhere. A CLI told otherwise has no options."""
    if not options:
        return list(argv)
    slot = MCP_OPTIONS_AT[backend_type]
    return [*argv[:slot], *options, *argv[slot:]]


def _gemini_prompt(prompt: str) -> str:
    """The prompt as one `--prompt=` argument, which gemini's yargs reads verbatim but for one
    thing: a value that starts and ends with the same quote character loses both quotes.
    A final newline (nothing to a model) keeps such a prompt whole."""
    if len(prompt) > 1 and prompt[0] in "'\"" and prompt[-1] == prompt[0]:
        prompt += "\n"
    return f"--prompt={prompt}"


def _strings(values: Sequence[str], name: str) -> list[str]:
    # A lone string is a Sequence[str] too; iterating it would pass one letter per argument.
    if isinstance(values, str) or not all(isinstance(value, str) for value in values):
        raise CommandError(f"{name} must be a list of strings")
    return list(values)


def _repeat(flag: str, values: Sequence[str]) -> list[str]:
    return [arg for value in values for arg in (flag, value)]


def _check_args(argv: Sequence[str]) -> None:
    """Refuse what would make the spawn itself fail, with a message better than errno's."""
    for index, arg in enumerate(argv):
        if "\0" in arg:
            raise CommandError(f"argument {index} contains a NUL character")
        try:
            size = len(os.fsencode(arg))
        except UnicodeEncodeError:
            raise CommandError(f"argument {index} is not valid text") from None
        if size > MAX_ARG_BYTES:
            raise CommandError(
                f"argument {index} is {size} bytes; Linux refuses arguments over {MAX_ARG_BYTES}"
            )
