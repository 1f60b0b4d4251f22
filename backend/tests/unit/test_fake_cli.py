"""The fake CLIs other tests run bots with: directives, default sessions, real limit messages."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from agented.executions.backends import build_command
from agented.executions.output import OutputObserver, Usage
from agented.executions.verdicts import RateLimit

from ..fakes import FAKES_DIR, fake_cli_environ

ENV = fake_cli_environ(os.environ)
TIMEOUT = 30


def run_bot(
    backend_type: str, prompt: str, **options: object
) -> subprocess.CompletedProcess[bytes]:
    """Run the command line Agented would build, with the fakes first on PATH."""
    argv = build_command(backend_type, prompt, **options)  # type: ignore[arg-type]
    return subprocess.run(argv, capture_output=True, env=ENV, timeout=TIMEOUT, check=False)


def lines(output: bytes) -> list[str]:
    return output.decode("utf-8", "replace").splitlines()


def observed(backend_type: str, done: subprocess.CompletedProcess[bytes]) -> OutputObserver:
    observer = OutputObserver(backend_type)
    for stream, output in (("stdout", done.stdout), ("stderr", done.stderr)):
        for line in lines(output):
            observer.feed(stream, line)
    return observer


def test_wrappers_are_executable_and_run_the_configured_python() -> None:
    for name in ("claude", "codex", "gemini", "opencode"):
        assert os.access(FAKES_DIR / name, os.X_OK)
    broken = subprocess.run(
        [FAKES_DIR / "codex", "exec", "x"],
        env={**ENV, "FAKE_CLI_PYTHON": "/nonexistent/python"},
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert broken.returncode == 127


@pytest.mark.parametrize("backend_type", ["claude", "codex", "gemini", "opencode"])
def test_print_argv_shows_the_prompt_where_the_real_cli_gets_it(backend_type: str) -> None:
    prompt = "Review this:\nfake: print-argv\n  quotes ' \" $(x) {braces} ünï"
    done = run_bot(backend_type, prompt, model="m1", paths=["/repo"])
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == build_command(
        backend_type, prompt, model="m1", paths=["/repo"]
    )


def test_claude_default_session_in_stream_json() -> None:
    done = run_bot("claude", "Hello there")
    events = [json.loads(line) for line in lines(done.stdout)]
    assert [(e["type"], e.get("subtype")) for e in events] == [
        ("system", "init"),
        ("assistant", None),
        ("result", "success"),
    ]
    assert "Hello there" in events[1]["message"]["content"][0]["text"]
    observer = observed("claude", done)
    assert observer.usage == Usage(12, 42, 1024, 2048, 0.0123, 1)
    assert observer.rate_limit(done.returncode) is None


def test_claude_json_output_is_one_array_like_the_real_cli_prints() -> None:
    done = run_bot("claude", "Hi", output_format="json")
    [events] = [json.loads(line) for line in lines(done.stdout)]
    assert [event["type"] for event in events] == ["system", "assistant", "result"]
    assert observed("claude", done).usage == Usage(12, 42, 1024, 2048, 0.0123, 1)


@pytest.mark.parametrize(
    ("backend_type", "usage"),
    [
        ("codex", Usage(input_tokens=1200, output_tokens=42, cache_read_input_tokens=1024)),
        ("gemini", Usage(input_tokens=1200, output_tokens=42, cache_read_input_tokens=1024)),
        ("opencode", Usage(176, 42, 0, 1024, 0.0021)),
    ],
)
def test_other_default_sessions(backend_type: str, usage: Usage | None) -> None:
    done = run_bot(backend_type, "Hi")
    assert done.returncode == 0
    assert "You said: Hi" in done.stdout.decode()
    assert observed(backend_type, done).usage == usage


def test_lines_come_numbered_with_their_time_at_the_given_rate() -> None:
    done = run_bot("codex", "fake: lines 20 rate=200")
    output = lines(done.stdout)
    assert [line.split()[:2] for line in output] == [["line", str(n)] for n in range(1, 21)]
    times = [float(line.split("t=")[1]) for line in output]
    assert times == sorted(times)
    assert times[-1] - times[0] >= 19 / 200 * 0.9


def test_flood() -> None:
    done = run_bot("codex", "fake: flood 100000")
    output = lines(done.stdout)
    assert len(output) == 100_000
    assert (output[0], output[-1]) == ("flood 1", "flood 100000")


def test_directives_combine_in_order_and_exit_stops_them() -> None:
    prompt = "Do it.\nfake: print one\nfake: stderr two words\n  fake: print three\nfake: exit 3\n"
    done = run_bot("gemini", prompt + "fake: print never")
    assert done.returncode == 3
    assert lines(done.stdout) == ["one", "three"]
    assert lines(done.stderr) == ["two words"]


def test_binary_and_long_lines() -> None:
    done = run_bot("claude", "fake: binary\nfake: long-line 200000")
    binary, long_line = done.stdout.split(b"\n")[:2]
    assert b"\xff" in binary
    assert b"\x00" in binary
    assert long_line == b"x" * 200_000


def test_sleep_announces_itself_only_when_nothing_was_printed() -> None:
    assert lines(run_bot("codex", "fake: sleep 0.01").stdout) == ["sleeping 0.01"]
    assert lines(run_bot("codex", "fake: print x\nfake: sleep 0.01").stdout) == ["x"]


@pytest.mark.parametrize(
    ("backend_type", "kind", "reason"),
    [
        ("claude", "claude-event", "Claude usage limit reached (five_hour)"),
        ("claude", "claude-text", "Claude usage limit reached"),
        ("claude", "claude-hit", "Claude usage limit reached"),
        ("claude", "claude-429", "Claude API rate limit reached (429)"),
        ("claude", "claude-529", "Claude API overloaded (529)"),
        ("claude", "spend-cap", "Claude API spend limit reached"),
        ("codex", "codex", "Codex usage limit reached"),
        ("gemini", "gemini", "Gemini API rate limit reached (429)"),
    ],
)
def test_rate_limit_messages_are_recognised_by_the_observer(
    backend_type: str, kind: str, reason: str
) -> None:
    done = run_bot(backend_type, f"fake: rate-limit {kind}\nfake: print never")
    assert done.returncode == 1
    assert b"never" not in done.stdout
    verdict = observed(backend_type, done).rate_limit(done.returncode)
    assert verdict is not None
    assert verdict.reason == reason
    assert (verdict.resets_at is None) == (kind in ("claude-429", "claude-529", "gemini"))


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("claude-429", "Claude API rate limit reached (429)"),
        ("claude-529", "Claude API overloaded (529)"),
    ],
)
def test_claude_api_errors_in_json_output_come_as_one_array(kind: str, reason: str) -> None:
    done = run_bot("claude", f"fake: rate-limit {kind}", output_format="json")
    [events] = [json.loads(line) for line in lines(done.stdout)]
    assert [e["type"] for e in events] == ["system", "system", "system", "assistant", "result"]
    observer = observed("claude", done)
    assert observer.rate_limit(done.returncode) == RateLimit(reason, None, "529" in kind)
    assert (observer.result_error or "").startswith("API Error:")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["claude", "-p", "--", "fake: teleport"], "unknown directive 'teleport'"),
        (["claude", "-p", "--", "fake: rate-limit cursor"], "unknown rate-limit kind 'cursor'"),
        (["claude", "--verbose"], "no prompt"),
        (["codex"], "no prompt"),
    ],
)
def test_mistakes_fail_loudly(argv: list[str], message: str) -> None:
    done = subprocess.run(argv, capture_output=True, env=ENV, timeout=TIMEOUT, check=False)
    assert done.returncode == 2
    assert message in done.stderr.decode()


def test_grandchild_lives_on_in_the_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    argv = build_command("codex", f"fake: grandchild {pidfile}")
    fake = subprocess.Popen(argv, env=ENV, stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        assert fake.wait(timeout=TIMEOUT) == 0
        grandchild = int(pidfile.read_text())
        assert os.getpgid(grandchild) == fake.pid
    finally:
        os.killpg(fake.pid, signal.SIGKILL)


def test_ignore_sigterm_takes_a_sigkill() -> None:
    argv = build_command("codex", "fake: ignore-sigterm\nfake: print ready\nfake: sleep 30")
    with subprocess.Popen(argv, env=ENV, stdout=subprocess.PIPE) as fake:
        try:
            assert fake.stdout is not None
            assert fake.stdout.readline() == b"ready\n"
            fake.send_signal(signal.SIGTERM)
            with pytest.raises(subprocess.TimeoutExpired):
                fake.wait(timeout=0.3)
        finally:
            fake.kill()
            fake.wait(timeout=TIMEOUT)
    assert fake.returncode == -signal.SIGKILL
