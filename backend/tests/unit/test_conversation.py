"""The conversation items read from each CLI's output, real recorded runs first.

The recorded runs (tests/fixtures/cli-output/real/, what the real CLIs printed
against a mock provider) hold messages, usage and errors but no tool calls; the
tool calls are checked on events in the shapes the CLIs document, and on what
the fake claude prints for `fake: tools`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from agented.executions.conversation import MAX_DIFF_WORK, derive, entry_data

from ..support.bots import FAKES

REAL = Path(__file__).parent.parent / "fixtures" / "cli-output" / "real"


def items_of(backend: str, lines: list[str]) -> list[dict[str, Any]]:
    return [item for line in lines for item in entry_data(0, derive(backend, line))["items"]]


def recorded(case: str) -> list[dict[str, Any]]:
    """The items of a recorded run, both of its streams, as a run would read them."""
    lines = [
        line
        for stream in ("stdout", "stderr")
        for line in (REAL / f"{case}.{stream}").read_text().splitlines()
    ]
    return items_of(case.split("-")[0], lines)


def kinds(items: list[dict[str, Any]]) -> list[str]:
    return [item["kind"] for item in items]


def test_a_claude_stream_json_run_is_its_session_its_answer_and_the_turn_and_run_usage() -> None:
    items = recorded("claude-ok")
    assert kinds(items) == ["session", "message", "usage", "usage"]
    assert items[0]["model"] == "claude-opus-4-8[1m]"
    assert items[1] == {
        "kind": "message",
        "role": "assistant",
        "text": "MOCK-OK: the answer is 4.",
        "delta": False,
    }
    assert (items[2]["scope"], items[2]["turn"]) == ("turn", "msg_mock_64935099")
    assert items[3]["scope"] == "run"
    assert items[3]["usage"]["total_cost_usd"] == 0.000285
    assert items[3]["usage"]["output_tokens"] == 9


def test_claude_json_array_reads_as_the_same_conversation_as_stream_json() -> None:
    def without_ids(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        ids = ("session_id", "turn")
        return [{k: v for k, v in item.items() if k not in ids} for item in items]

    assert without_ids(recorded("claude-ok-json")) == without_ids(recorded("claude-ok"))


def test_a_refused_claude_run_shows_its_retries_and_the_error_once() -> None:
    items = recorded("claude-429")
    errors = [item for item in items if item["kind"] == "error"]
    assert [e["retrying"] for e in errors] == [True, True, False]
    assert errors[0]["message"] == "API error 429 (rate_limit): retrying, attempt 1 of 2"
    assert errors[-1]["message"].startswith("API Error: Request rejected (429)")
    # The message claude made up to report the error is not shown as the agent's words.
    assert "message" not in kinds(items)


def test_a_claude_subscription_limit_is_an_error() -> None:
    errors = [item for item in recorded("claude-oauth-429") if item["kind"] == "error"]
    assert errors[0]["message"] == "Usage limit reached (five_hour)"
    assert errors[-1]["message"] == "You've hit your session limit · resets 12:47am (UTC)"


def test_a_codex_run_is_its_thread_its_warning_its_answer_and_the_turn_usage() -> None:
    items = recorded("codex-ok")
    assert kinds(items) == ["session", "error", "message", "usage"]
    assert items[1]["message"].startswith("Model metadata for `mock-model` not found")
    assert items[2]["text"] == "MOCK-OK: the answer is 4."
    assert items[3]["usage"] == {
        "input_tokens": 120,
        "output_tokens": 9,
        "cache_creation_input_tokens": None,
        "cache_read_input_tokens": 20,
        "total_cost_usd": None,
        "num_turns": None,
    }


def test_codex_reconnecting_is_an_error_it_retries_and_the_failed_turn_an_error() -> None:
    errors = [item for item in recorded("codex-429") if item["kind"] == "error"][1:]
    assert [e["retrying"] for e in errors] == [True, True, False, False]
    assert errors[-1]["message"].startswith("exceeded retry limit, last status: 429")


def test_a_gemini_json_document_gives_its_answer_and_nothing_from_its_stats() -> None:
    answer = "MOCK-OK: the answer is 4."
    assert recorded("gemini-ok") == [
        {"kind": "message", "role": "assistant", "text": answer, "delta": False}
    ]
    assert recorded("gemini-429") == []  # its error is the execution's error message


def test_an_opencode_run_is_its_answer_and_the_step_usage_with_cost() -> None:
    items = recorded("opencode-ok")
    assert kinds(items) == ["message", "usage"]
    assert items[1]["usage"]["input_tokens"] == 100
    assert items[1]["usage"]["total_cost_usd"] == 0.0


def test_an_opencode_error_event_is_an_error_with_the_providers_message() -> None:
    assert recorded("opencode-429") == [
        {
            "kind": "error",
            "message": "Rate limit reached for mock-model in organization org-mock on tokens per "
            "min (TPM): Limit 30000, Used 30000, Requested 900. Please try again in 30s.",
            "retrying": False,
        }
    ]


def test_every_recorded_run_reads_without_error() -> None:
    for meta in REAL.glob("*.meta.json"):
        recorded(meta.name.removesuffix(".meta.json"))


def test_claude_tool_calls_carry_the_command_the_diff_and_their_results() -> None:
    argv = ["claude", "--output-format", "stream-json", "--", "fake: tools\nfake: result"]
    printed = subprocess.run(
        [sys.executable, str(FAKES / "fake_cli.py"), *argv],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    items = items_of("claude", printed)
    calls = {item["id"]: item for item in items if item["kind"] == "tool_call"}
    results = {item["id"]: item for item in items if item["kind"] == "tool_result"}
    assert calls["toolu_1"]["command"] == "ls -1"
    assert results["toolu_1"] == {
        "kind": "tool_result",
        "id": "toolu_1",
        "output": "README.md\nsrc",
        "is_error": False,
        "exit_code": None,
    }
    assert calls["toolu_2"]["path"] == "/work/README.md"
    assert calls["toolu_2"]["diff"].splitlines()[2:] == ["@@ -1 +1 @@", "-Hello", "+Hello, world"]
    assert results["toolu_2"]["is_error"] is True
    assert items[-1]["scope"] == "run"
    assert items[-1]["usage"]["total_cost_usd"] == 0.0456


def test_a_claude_tool_result_given_as_blocks_keeps_their_text() -> None:
    content = [{"type": "text", "text": "line one"}, {"type": "image", "source": {}}]
    block = {"type": "tool_result", "tool_use_id": "t", "content": content}
    line = json.dumps({"type": "user", "message": {"content": [block]}})
    assert items_of("claude", [line])[0]["output"] == "line one\n[image]"


def test_claude_write_is_a_diff_of_added_lines_and_big_edits_get_none() -> None:
    write = {"file_path": "/a.txt", "content": "one\ntwo\n" * MAX_DIFF_WORK}
    huge = {
        "file_path": "/b.txt",
        "old_string": "x\n" * (MAX_DIFF_WORK // 2 + 1),
        "new_string": "y\nz",
    }
    blocks = [
        {"type": "tool_use", "id": "w", "name": "Write", "input": write},
        {"type": "tool_use", "id": "h", "name": "Edit", "input": huge},
    ]
    line = json.dumps({"type": "assistant", "message": {"content": blocks}})
    written, edited = items_of("claude", [line])
    assert written["diff"].splitlines()[-2:] == ["+one", "+two"]  # a new file of any size
    assert edited["diff"] is None
    assert edited["path"] == "/b.txt"


def test_codex_commands_start_as_calls_and_complete_with_output_and_exit_code() -> None:
    command = {"id": "item_1", "type": "command_execution", "command": "bash -lc ls"}
    done = {**command, "aggregated_output": "a\nb\n", "exit_code": 2, "status": "failed"}
    change = {
        "id": "item_2",
        "type": "file_change",
        "changes": [{"path": "src/app.py", "kind": "update"}],
        "status": "completed",
    }
    lines = [
        json.dumps({"type": "item.started", "item": command}),
        json.dumps({"type": "item.completed", "item": done}),
        json.dumps({"type": "item.completed", "item": change}),
    ]
    items = items_of("codex", lines)
    assert kinds(items) == ["tool_call", "tool_call", "tool_result", "tool_call", "tool_result"]
    assert items[0]["command"] == "bash -lc ls"
    assert items[2] == {
        "kind": "tool_result",
        "id": "item_1",
        "output": "a\nb\n",
        "is_error": True,
        "exit_code": 2,
    }
    assert items[4]["output"] == "update src/app.py"


def test_gemini_stream_json_events_are_deltas_tool_calls_results_and_totals() -> None:
    events = [
        {"type": "init", "session_id": "s", "model": "gemini-2.5-pro"},
        {"type": "message", "role": "user", "content": "the prompt"},
        {"type": "message", "role": "assistant", "content": "Hel", "delta": True},
        {
            "type": "tool_use",
            "tool_name": "run_shell_command",
            "tool_id": "t1",
            "parameters": {"command": "ls"},
        },
        {"type": "tool_result", "tool_id": "t1", "status": "error", "error": {"message": "denied"}},
        {"type": "result", "status": "success", "stats": {"input_tokens": 5, "output_tokens": 2}},
    ]
    items = items_of("gemini", [json.dumps(event) for event in events])
    assert kinds(items) == ["session", "message", "tool_call", "tool_result", "usage"]
    assert items[1]["delta"] is True
    assert items[2]["command"] == "ls"
    assert (items[3]["output"], items[3]["is_error"]) == ("denied", True)
    assert (items[4]["usage"]["input_tokens"], items[4]["usage"]["output_tokens"]) == (5, 2)


def test_an_opencode_tool_event_is_a_call_and_its_result_with_opencodes_own_diff() -> None:
    state = {
        "status": "completed",
        "input": {"filePath": "/x.py", "oldString": "a", "newString": "b"},
        "output": "edited",
        "metadata": {"diff": "--- /x.py\n+++ /x.py\n-a\n+b"},
    }
    part = {"type": "tool", "tool": "edit", "callID": "call_1", "state": state}
    call, result = items_of("opencode", [json.dumps({"type": "tool_use", "part": part})])
    assert (call["path"], call["diff"]) == ("/x.py", "--- /x.py\n+++ /x.py\n-a\n+b")
    assert (result["id"], result["output"]) == ("call_1", "edited")


def test_plain_text_broken_json_and_command_bots_hold_no_conversation() -> None:
    assert derive("claude", "plain text") == []
    assert derive("claude", '{"type":"assistant","message":{"content":[{"type":"te') == []
    assert derive("claude", "[1, 2]") == []
    assert derive("codex", '{"type": 5}') == []
    assert derive("command", '{"type":"result","usage":{"input_tokens":1}}') == []
