"""A stand-in for the AI CLIs (claude, codex, gemini, opencode) in tests.

Run through the wrapper scripts next to this file, which are named after the
real CLIs: put this directory first on PATH and set FAKE_CLI_PYTHON to the
interpreter to use (`python3` otherwise). The fake finds the prompt where the
real CLI does (after the `--` end-of-options marker for claude, codex and
opencode, in `--prompt=` for gemini) and takes its behaviour from directive
lines in it, so a bot's prompt template picks the scenario. Directives run in order:

    fake: session              the CLI's normal output for the prompt (see below)
    fake: lines N [rate=R]     N lines `line <i> t=<time.time()>`, R per second (default: at once)
    fake: flood N              N lines `flood <i>` as fast as possible, block-buffered
    fake: print TEXT           TEXT on stdout
    fake: stderr TEXT          TEXT on stderr
    fake: sleep S              sleep S seconds; first print `sleeping S` if nothing was printed yet
    fake: grandchild PIDFILE   start a grandchild in the same process group, sleeping 300 s with
                               the output pipes inherited (like a backgrounded job), pid in PIDFILE
    fake: ignore-sigterm       ignore SIGTERM from here on
    fake: exit N               stop now with exit code N
    fake: binary               a line with invalid UTF-8 and a NUL byte
    fake: long-line N          one line of N bytes
    fake: print-argv           the argv as one JSON list, program name first
    fake: tools                (claude, stream-json) a conversation without its result: Markdown
                               text, a Bash call and its output, an Edit call that fails
    fake: result               (claude, stream-json) the final `result` event, with usage and cost
    fake: wait-for PATH        wait (up to 60 s) until the file PATH exists
    fake: rate-limit KIND      a real limit message, then exit 1; KIND is one of claude-event,
                               claude-text, claude-hit, claude-429, claude-529, codex, gemini,
                               spend-cap

With FAKE_RATE_LIMIT=KIND in its environment (an account's `env` sets it), the
fake does `rate-limit KIND` before anything else, so one prompt can be limited
on one account and answered on another.

`<cli> --version` prints `0.0.0-fake (<cli>, fake)` and nothing else happens.
A prompt without directives gets `session`: for claude with `--output-format
stream-json` a `system` init event, an `assistant` event echoing the prompt and a
`result` event with usage and cost (`json`: the same three as one array on one
line, as claude prints with --verbose); codex and opencode print their JSON
events (opencode's `step_finish` with tokens and cost), gemini its
pretty-printed JSON document. claude-429 and claude-529 print what claude 2.1
prints when the API refuses: `api_retry` lines, an `assistant` event with an
`error` field and an error `result` with `api_error_status` (the recorded runs
are in tests/fixtures/cli-output/real/). Every line is flushed at once, except
in flood mode.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import NoReturn

DIRECTIVE = re.compile(r"^[ \t]*fake:[ \t]*([\w-]+)[ \t]*(.*?)[ \t]*$", re.MULTILINE)
SESSION_ID = "0fa4e000-0000-4000-8000-000000000000"
CHUNK = 64 * 1024
FAKE_VERSION = "0.0.0-fake"

# The text shapes the Claude API's errors had in older CLI versions (the detector still knows them).
CLAUDE_429 = (
    'API Error: 429 {"type":"error","error":{"type":"rate_limit_error","message":"This request '
    "would exceed your account's rate limit. Please try again later.\"}}"
)
CLAUDE_529 = (
    'API Error: 529 {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
)
# ... and the ones claude 2.1.197 prints.
CLAUDE_REJECTED = (
    "API Error: Request rejected (429) · This request would exceed your account's rate limit. "
    "Please try again later."
)
CLAUDE_OVERLOADED = (
    "API Error: 529 Overloaded. This is a server-side issue, usually temporary — try again in a "
    "moment."
)
CODEX_LIMIT = (
    "You've hit your usage limit. Upgrade to Pro (https://openai.com/chatgpt/pricing) "
    "or try again in 5 days 22 hours 11 minutes."
)


class Fake:
    def __init__(self, name: str, args: list[str]) -> None:
        self.name = name
        self.args = args
        self.printed = False
        self.prompt = self._prompt()
        self.output_format = self._option("--output-format") or "text"

    def _option(self, flag: str) -> str | None:
        if flag in self.args[:-1]:
            return self.args[self.args.index(flag) + 1]
        return None

    def _prompt(self) -> str:
        if self.name == "gemini":
            prompt = next((a[len("--prompt=") :] for a in self.args if a[:9] == "--prompt="), None)
        elif "--" in self.args[:-1]:
            prompt = self.args[self.args.index("--") + 1]
        else:
            prompt = None
        if prompt is None:
            fail(f"{self.name}: no prompt in {self.args}")
        return prompt

    def run(self) -> None:
        if kind := os.environ.get("FAKE_RATE_LIMIT"):
            self.do_rate_limit(kind)
        directives = DIRECTIVE.findall(self.prompt)
        for name, argument in directives or [("session", "")]:
            handler = "do_" + name.replace("-", "_")
            action: Callable[[str], None] | None = getattr(self, handler, None)
            if action is None:
                fail(f"{self.name}: unknown directive {name!r}")
            action(argument)

    def emit(self, text: str, *, stderr: bool = False) -> None:
        stream = sys.stderr if stderr else sys.stdout
        stream.write(text + "\n")
        stream.flush()
        self.printed = True

    def emit_json(self, value: object) -> None:
        self.emit(json.dumps(value, separators=(",", ":"), ensure_ascii=False))

    def do_session(self, _: str) -> None:
        answer = f"You said: {self.prompt}"
        if self.name == "claude":
            self._claude_session(answer)
        elif self.name == "codex":
            self.emit_json({"type": "thread.started", "thread_id": SESSION_ID})
            self.emit_json({"type": "turn.started"})
            item = {"id": "item_0", "type": "agent_message", "text": answer}
            self.emit_json({"type": "item.completed", "item": item})
            usage = {"input_tokens": 1200, "cached_input_tokens": 1024, "output_tokens": 42}
            self.emit_json({"type": "turn.completed", "usage": usage})
        elif self.name == "gemini":
            tokens = {"prompt": 1200, "candidates": 42, "total": 1242, "cached": 1024}
            stats = {"models": {"gemini-fake": {"api": {"totalRequests": 1}, "tokens": tokens}}}
            self.emit(json.dumps({"response": answer, "stats": stats}, indent=2))
        else:
            self._opencode_session(answer)

    def _opencode_session(self, answer: str) -> None:
        def emit(kind: str, **part: object) -> None:
            self.emit_json({"type": kind, "sessionID": SESSION_ID, "part": part})

        emit("step_start", type="step-start")
        emit("text", type="text", text=answer)
        tokens = {"total": 1242, "input": 176, "output": 42, "cache": {"read": 1024, "write": 0}}
        emit("step_finish", type="step-finish", reason="stop", tokens=tokens, cost=0.0021)

    def _claude_session(self, answer: str) -> None:
        if self.output_format == "text":
            self.emit(answer)
            return
        usage = {
            "input_tokens": 12,
            "output_tokens": 42,
            "cache_creation_input_tokens": 1024,
            "cache_read_input_tokens": 2048,
        }
        self._claude_events(
            self._claude_message(answer, usage),
            {
                "type": "result",
                "subtype": "success",
                "is_error": False,
                "duration_ms": 1234,
                "num_turns": 1,
                "session_id": SESSION_ID,
                "total_cost_usd": 0.0123,
                "usage": usage,
                "result": answer,
            },
        )

    def _claude_message(
        self, text: str, usage: dict[str, int], **fields: object
    ) -> dict[str, object]:
        message = {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": "claude-fake",
            "content": [{"type": "text", "text": text}],
            "usage": usage,
        }
        return {"type": "assistant", "message": message, "session_id": SESSION_ID, **fields}

    def _claude_events(self, *events: dict[str, object]) -> None:
        """An init event and `events`: one per line in stream-json, one array in json."""
        init = {
            "type": "system",
            "subtype": "init",
            "cwd": os.getcwd(),
            "session_id": SESSION_ID,
            "tools": ["Read", "Grep", "Bash"],
            "model": "claude-fake",
            "apiKeySource": "none",
        }
        if self.output_format == "json":
            self.emit_json([init, *events])
        else:
            for event in (init, *events):
                self.emit_json(event)

    def _claude_api_error(self, status: int, error: str, text: str) -> None:
        """What claude 2.1 prints when the API keeps refusing: its retries, then the failure."""
        retries = [
            {
                "type": "system",
                "subtype": "api_retry",
                "attempt": n,
                "max_retries": 2,
                "retry_delay_ms": 500,
                "error_status": status,
                "error": error,
            }
            for n in (1, 2)
        ]
        zero = {"input_tokens": 0, "output_tokens": 0}
        self._claude_events(
            *retries,
            self._claude_message(
                text, zero, error="rate_limit" if status == 429 else "server_error"
            ),
            {
                "type": "result",
                "subtype": "success",
                "is_error": True,
                "api_error_status": status,
                "num_turns": 1,
                "result": text,
                "total_cost_usd": 0,
                "usage": zero,
            },
        )

    def do_tools(self, _: str) -> None:
        """What claude prints for a run that uses tools: messages, calls and their results."""

        def said(message_id: str, *content: dict[str, object]) -> None:
            usage = {"input_tokens": 30, "output_tokens": 12, "cache_read_input_tokens": 100}
            message = {"id": message_id, "role": "assistant", "content": list(content)}
            self.emit_json({"type": "assistant", "message": {**message, "usage": usage}})

        def result(call_id: str, text: str, *, error: bool = False) -> None:
            block = {"type": "tool_result", "tool_use_id": call_id, "content": text}
            message = {"role": "user", "content": [{**block, "is_error": error}]}
            self.emit_json({"type": "user", "message": message})

        self._claude_events()
        plan = "I'll look at the **README** first:\n\n- list the files\n- fix the `greeting`"
        said("msg_1", {"type": "text", "text": plan})
        bash = {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls -1"}}
        said("msg_1", bash)
        result("toolu_1", "README.md\nsrc")
        edit = {"file_path": "/work/README.md", "old_string": "Hello", "new_string": "Hello, world"}
        said("msg_2", {"type": "tool_use", "id": "toolu_2", "name": "Edit", "input": edit})
        result("toolu_2", "File has not been read yet", error=True)
        said("msg_3", {"type": "text", "text": "Done. <script>alert(1)</script> stays text."})

    def do_result(self, _: str) -> None:
        usage = {"input_tokens": 90, "output_tokens": 36, "cache_read_input_tokens": 300}
        self.emit_json(
            {
                "type": "result",
                "subtype": "success",
                "is_error": False,
                "num_turns": 3,
                "total_cost_usd": 0.0456,
                "usage": usage,
                "result": "Done.",
            }
        )

    def do_wait_for(self, argument: str) -> None:
        deadline = time.monotonic() + 60
        while not os.path.exists(argument) and time.monotonic() < deadline:
            time.sleep(0.05)

    def do_lines(self, argument: str) -> None:
        count, _, rate = argument.partition(" rate=")
        interval = 1 / float(rate) if rate else 0.0
        start = time.monotonic()
        for number in range(1, int(count) + 1):
            if (wait := start + (number - 1) * interval - time.monotonic()) > 0:
                time.sleep(wait)
            self.emit(f"line {number} t={time.time():.6f}")

    def do_flood(self, argument: str) -> None:
        total = int(argument)
        for first in range(1, total + 1, 10_000):
            last = min(first + 10_000, total + 1)
            sys.stdout.write("".join(f"flood {n}\n" for n in range(first, last)))
        sys.stdout.flush()
        self.printed = True

    def do_print(self, argument: str) -> None:
        self.emit(argument)

    def do_stderr(self, argument: str) -> None:
        self.emit(argument, stderr=True)

    def do_sleep(self, argument: str) -> None:
        if not self.printed:
            self.emit(f"sleeping {argument}")
        time.sleep(float(argument))

    def do_grandchild(self, argument: str) -> None:
        child = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(300)"], stdin=subprocess.DEVNULL
        )
        partial = f"{argument}.tmp"
        with open(partial, "w") as file:
            file.write(str(child.pid))
        os.replace(partial, argument)  # a reader never sees half a pid

    def do_ignore_sigterm(self, _: str) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)

    def do_exit(self, argument: str) -> None:
        raise SystemExit(int(argument))

    def do_binary(self, _: str) -> None:
        sys.stdout.buffer.write(b"binary \xff\xfe\xc3( and a NUL \x00 here\n")
        sys.stdout.flush()
        self.printed = True

    def do_long_line(self, argument: str) -> None:
        remaining = int(argument)
        while remaining > 0:
            sys.stdout.write("x" * min(CHUNK, remaining))
            remaining -= CHUNK
        self.emit("")

    def do_print_argv(self, _: str) -> None:
        self.emit_json([self.name, *self.args])

    def do_rate_limit(self, kind: str) -> None:
        now = datetime.now(UTC)
        in_an_hour = int(now.timestamp()) + 3600
        if kind == "claude-event":
            self.emit_json({"type": "system", "subtype": "init", "session_id": SESSION_ID})
            info = {
                "status": "rejected",
                "resetsAt": in_an_hour,
                "rateLimitType": "five_hour",
                "isUsingOverage": False,
            }
            self.emit_json({"type": "rate_limit_event", "rate_limit_info": info})
            text = f"Claude AI usage limit reached|{in_an_hour}"
            result = {"type": "result", "subtype": "success", "is_error": True, "result": text}
            self.emit_json(result)
        elif kind == "claude-text":
            self.emit(f"Claude AI usage limit reached|{in_an_hour}")
        elif kind == "claude-hit":
            hour = (now + timedelta(hours=1)).strftime("%I%p").lstrip("0").lower()
            self.emit(f"You've hit your limit · resets {hour} (UTC)")
        elif kind == "claude-429":
            self._claude_api_error(429, "rate_limit", CLAUDE_REJECTED)
        elif kind == "claude-529":
            self._claude_api_error(529, "overloaded", CLAUDE_OVERLOADED)
        elif kind == "spend-cap":
            month = (now.replace(day=1) + timedelta(days=32)).replace(day=1)
            message = (
                "You have reached your specified API usage limits. "
                f"You will regain access on {month:%Y-%m-%d} at 00:00 UTC."
            )
            body = {"type": "error", "error": {"type": "invalid_request_error", "message": message}}
            self.emit(f"API Error: 400 {json.dumps(body, separators=(',', ':'))}")
        elif kind == "codex":
            self.emit_json({"type": "thread.started", "thread_id": SESSION_ID})
            self.emit_json({"type": "turn.started"})
            self.emit_json({"type": "error", "message": CODEX_LIMIT})
            self.emit_json({"type": "turn.failed", "error": {"message": CODEX_LIMIT}})
        elif kind == "gemini":
            error = {
                "type": "Error",
                "message": "Resource has been exhausted (e.g. check quota).",
                "code": 429,
                "status": "RESOURCE_EXHAUSTED",
            }
            self.emit(json.dumps({"error": error}, indent=2), stderr=True)
        else:
            fail(f"{self.name}: unknown rate-limit kind {kind!r}")
        raise SystemExit(1)


def fail(message: str) -> NoReturn:
    print(message, file=sys.stderr, flush=True)
    raise SystemExit(2)


def main() -> None:
    # Die quietly on a closed pipe, as the real CLIs do, instead of printing a traceback.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    if sys.argv[2:] == ["--version"]:  # as the real CLIs answer it, one line
        print(f"{FAKE_VERSION} ({sys.argv[1]}, fake)")
        return
    Fake(sys.argv[1], sys.argv[2:]).run()


if __name__ == "__main__":
    main()
