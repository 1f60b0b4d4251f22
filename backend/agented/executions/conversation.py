"""A run as a conversation: each CLI's structured output line turned into typed items.

The dashboard shows a run of Claude Code, Codex, Gemini CLI or opencode as what
it was, a conversation: the agent's messages, each tool call with its input and
its result, errors, and the tokens and cost of each turn. Every CLI prints that
in its own JSON dialect; this module is the one place that reads them, so a
browser never parses a CLI's output and every viewer gets the same items.

Items are derived from one stored line at a time and never stored: a line's
items are a pure function of the bot's backend and the line. So the live
stream (`ExecutionLogService.append`), the replay of a finished run and the
conversation route all call `derive` on the same lines and cannot disagree,
and nothing new is written to the database (a run recorded before this
existed has its conversation too). What needs more than one line is left to
whoever shows the items: a tool result carries its call's id; Claude repeats
a message's usage on each of its content blocks, so usage carries the turn's id
and the last one counts; Gemini's `json` document spans many lines, so only its
`response` line is read here and its run totals are the execution's `usage`.

The usage numbers are `output.Usage`, read by the functions the rate-limit
observer uses for the execution's totals. Formats as printed by claude 2.1.197
(`stream-json`, and the one array of `json`), codex 0.171.0 (`exec --json`),
gemini 0.61.0 (`json`, and the events of `stream-json`) and opencode 1.18.33
(`run --format json`); see tests/fixtures/cli-output/real/.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterator
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from ..events.encoding import encode_event
from .output import (
    Usage,
    claude_usage,
    codex_usage,
    gemini_usage,
    json_object,
    opencode_usage,
    result_error_text,
    token_count,
)

# A diff is worked out only for edits this small (the product of the two sides'
# line counts: 300 lines each): difflib's matching grows with that product, up to
# half a second for 2,000 similar lines a side, and it runs on the event loop for
# live runs. A new file (nothing on the old side) costs nothing to match.
MAX_DIFF_WORK = 300 * 300
# Gemini's `json` document, pretty-printed: its answer sits on one line of its own.
_GEMINI_RESPONSE = '  "response": '


class SessionItem(BaseModel):
    """The CLI's session started: which model, which session id."""

    kind: Literal["session"] = "session"
    model: str | None = None
    session_id: str | None = None


class MessageItem(BaseModel):
    """Text the agent wrote (Markdown), or its visible reasoning (`thinking`)."""

    kind: Literal["message"] = "message"
    role: Literal["assistant", "thinking"] = "assistant"
    text: str
    delta: bool = Field(
        default=False, description="A piece to append to the message before it (Gemini streams)."
    )


class ToolCallItem(BaseModel):
    """The agent called a tool. `command` is set for shell commands, `diff` for file edits."""

    kind: Literal["tool_call"] = "tool_call"
    id: str
    name: str
    input: Any = None
    command: str | None = None
    path: str | None = None
    diff: str | None = Field(default=None, description="A unified diff of the edit, when small.")


class ToolResultItem(BaseModel):
    """What a tool call returned; `id` is the call's."""

    kind: Literal["tool_result"] = "tool_result"
    id: str
    output: str
    is_error: bool = False
    exit_code: int | None = None


class ErrorItem(BaseModel):
    """An error the CLI reported; `retrying` when it said it would try again by itself."""

    kind: Literal["error"] = "error"
    message: str
    retrying: bool = False


class UsageItem(BaseModel):
    """Tokens (and cost, where the CLI says) of one turn, or of the whole run (`run`).

    `turn` names the turn when the CLI repeats its usage: the last one for a turn counts.
    """

    kind: Literal["usage"] = "usage"
    scope: Literal["turn", "run"]
    turn: str | None = None
    usage: Usage


ConversationItem = Annotated[
    SessionItem | MessageItem | ToolCallItem | ToolResultItem | ErrorItem | UsageItem,
    Field(discriminator="kind"),
]
Items = list[SessionItem | MessageItem | ToolCallItem | ToolResultItem | ErrorItem | UsageItem]


class ConversationEntry(BaseModel):
    """The items derived from one log line, by the line's `seq`."""

    seq: int
    items: list[ConversationItem]


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _block_text(content: object) -> str:
    """A tool result's content: a string, or a list of blocks whose text parts count."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            block = json_object(block)
            if block.get("type") == "text" and isinstance(block.get("text"), str):
                parts.append(block["text"])
            elif block.get("type") is not None:
                parts.append(f"[{block['type']}]")
        return "\n".join(parts)
    return "" if content is None else json.dumps(content, ensure_ascii=False)


def _diff(path: str, old: str, new: str) -> str | None:
    before, after = old.splitlines(), new.splitlines()
    if len(before) * len(after) > MAX_DIFF_WORK:
        return None
    lines = difflib.unified_diff(before, after, path, path, lineterm="")
    return "\n".join(lines) or None


def _edits(name: str, params: dict[str, Any]) -> tuple[str | None, list[tuple[str, str]]]:
    """The file a tool changes and its (old, new) text pairs, for the tools that edit files.

    Claude's Edit, MultiEdit and Write, Gemini's replace and write_file, opencode's
    edit and write (camelCase), by their documented inputs.
    """
    path = _text(params.get("file_path")) or _text(params.get("filePath"))
    if path is None:
        return None, []
    lowered = name.lower()
    old = _text(params.get("old_string")) or _text(params.get("oldString"))
    new = _text(params.get("new_string")) or _text(params.get("newString"))
    if lowered in ("edit", "replace") and old is not None and new is not None:
        return path, [(old, new)]
    if lowered == "multiedit" and isinstance(params.get("edits"), list):
        pairs = [json_object(edit) for edit in params["edits"]]
        return path, [
            (e["old_string"], e["new_string"])
            for e in pairs
            if isinstance(e.get("old_string"), str) and isinstance(e.get("new_string"), str)
        ]
    if lowered in ("write", "write_file") and isinstance(content := params.get("content"), str):
        return path, [("", content)]
    return path, []


_SHELL_TOOLS = frozenset({"bash", "shell", "run_shell_command"})


def tool_call(call_id: str, name: str, params: object, diff: str | None = None) -> ToolCallItem:
    """A tool call with what the view needs picked out: the shell command, the edited file
    and its diff (`diff` when the CLI computed it itself)."""
    fields = json_object(params)
    command = _text(fields.get("command")) if name.lower() in _SHELL_TOOLS else None
    path, pairs = _edits(name, fields)
    if diff is None and path is not None and pairs:
        parts = [_diff(path, old, new) for old, new in pairs]
        diff = None if None in parts else "\n".join(part for part in parts if part)
    return ToolCallItem(id=call_id, name=name, input=params, command=command, path=path, diff=diff)


# Claude Code: `stream-json` lines, or the one array `json` prints.


def _claude(event: dict[str, Any]) -> Iterator[Any]:
    kind = event.get("type")
    if kind == "system":
        if event.get("subtype") == "init":
            yield SessionItem(
                model=_text(event.get("model")), session_id=_text(event.get("session_id"))
            )
        elif event.get("subtype") == "api_retry":
            status, attempt = event.get("error_status"), event.get("attempt")
            what = f"API error {status}" if status is not None else "API error"
            note = f" ({event['error']})" if isinstance(event.get("error"), str) else ""
            count = f", attempt {attempt} of {event.get('max_retries')}" if attempt else ""
            yield ErrorItem(message=f"{what}{note}: retrying{count}", retrying=True)
    elif kind == "assistant":
        message = json_object(event.get("message"))
        if isinstance(event.get("error"), str):
            # A message Claude made up to report an API error (model "<synthetic>"), which
            # its error `result` repeats: shown once, from there.
            return
        for block in message.get("content") or ():
            block = json_object(block)
            if block.get("type") == "text" and (text := _text(block.get("text"))):
                yield MessageItem(text=text)
            elif block.get("type") == "thinking" and (text := _text(block.get("thinking"))):
                yield MessageItem(role="thinking", text=text)
            elif block.get("type") == "tool_use":
                name = _text(block.get("name")) or "tool"
                yield tool_call(str(block.get("id")), name, block.get("input"))
        if (usage := claude_usage(message)) is not None:
            yield UsageItem(scope="turn", turn=_text(message.get("id")), usage=usage)
    elif kind == "user":
        for block in json_object(event.get("message")).get("content") or ():
            block = json_object(block)
            if block.get("type") == "tool_result":
                yield ToolResultItem(
                    id=str(block.get("tool_use_id")),
                    output=_block_text(block.get("content")),
                    is_error=block.get("is_error") is True,
                )
    elif kind == "result":
        if (usage := claude_usage(event)) is not None:
            yield UsageItem(scope="run", usage=usage)
        subtype = event.get("subtype")
        if event.get("is_error") is True or (
            isinstance(subtype, str) and subtype.startswith("error")
        ):
            yield ErrorItem(message=result_error_text(event))
    elif kind == "rate_limit_event":
        info = json_object(event.get("rate_limit_info"))
        if info.get("status") == "rejected":
            window = _text(info.get("rateLimitType"))
            yield ErrorItem(message="Usage limit reached" + (f" ({window})" if window else ""))


# Codex: `exec --json` thread events; tools are items that start and complete.


def _codex_item(item: dict[str, Any], completed: bool) -> Iterator[Any]:
    kind, item_id = item.get("type"), str(item.get("id"))
    if kind == "agent_message" and completed and (text := _text(item.get("text"))):
        yield MessageItem(text=text)
    elif kind == "reasoning" and completed and (text := _text(item.get("text"))):
        yield MessageItem(role="thinking", text=text)
    elif kind == "error" and (text := _text(item.get("message"))):
        yield ErrorItem(message=text)
    elif kind == "command_execution":
        yield tool_call(item_id, "shell", {"command": item.get("command")})
        if completed:
            code = item.get("exit_code")
            yield ToolResultItem(
                id=item_id,
                output=_text(item.get("aggregated_output")) or "",
                is_error=item.get("status") in ("failed", "declined") or code not in (0, None),
                exit_code=code if isinstance(code, int) else None,
            )
    elif kind == "file_change":
        changes = [json_object(change) for change in item.get("changes") or ()]
        yield tool_call(item_id, "file_change", {"changes": changes})
        if completed:
            summary = "\n".join(f"{c.get('kind', 'change')} {c.get('path', '?')}" for c in changes)
            yield ToolResultItem(
                id=item_id, output=summary, is_error=item.get("status") == "failed"
            )
    elif kind == "mcp_tool_call":
        name = f"{item.get('server', 'mcp')}.{item.get('tool', 'tool')}"
        yield tool_call(item_id, name, item.get("arguments"))
        if completed:
            error = _text(json_object(item.get("error")).get("message"))
            result = json_object(item.get("result"))
            output = error or _block_text(result.get("content"))
            yield ToolResultItem(id=item_id, output=output, is_error=error is not None)
    elif kind in ("web_search", "todo_list"):
        fields = {key: value for key, value in item.items() if key not in ("id", "type")}
        yield tool_call(item_id, kind, fields)
        if completed:
            yield ToolResultItem(id=item_id, output="")


def _codex(event: dict[str, Any]) -> Iterator[Any]:
    kind = event.get("type")
    if kind == "thread.started":
        yield SessionItem(session_id=_text(event.get("thread_id")))
    elif kind in ("item.started", "item.updated", "item.completed"):
        yield from _codex_item(json_object(event.get("item")), kind == "item.completed")
    elif kind == "turn.completed":
        yield UsageItem(scope="turn", usage=codex_usage(event))
    elif kind == "turn.failed":
        message = _text(json_object(event.get("error")).get("message"))
        yield ErrorItem(message=message or "the turn failed")
    elif kind == "error" and (message := _text(event.get("message"))):
        # "Reconnecting... 1/2 (...)": codex says it tries again.
        yield ErrorItem(message=message, retrying=message.startswith("Reconnecting"))


# Gemini CLI: the events of `stream-json`, or the answer line of its `json` document.


def _gemini(event: dict[str, Any]) -> Iterator[Any]:
    kind = event.get("type")
    if kind == "init":
        yield SessionItem(
            model=_text(event.get("model")), session_id=_text(event.get("session_id"))
        )
    elif kind == "message":
        if event.get("role") == "assistant" and (text := _text(event.get("content"))):
            yield MessageItem(text=text, delta=event.get("delta") is True)
    elif kind == "tool_use":
        name = _text(event.get("tool_name")) or "tool"
        yield tool_call(str(event.get("tool_id")), name, event.get("parameters"))
    elif kind == "tool_result":
        error = _text(json_object(event.get("error")).get("message"))
        yield ToolResultItem(
            id=str(event.get("tool_id")),
            output=_text(event.get("output")) or error or "",
            is_error=event.get("status") == "error",
        )
    elif kind == "error" and (message := _text(event.get("message"))):
        yield ErrorItem(message=message)
    elif kind == "result":
        stats = json_object(event.get("stats"))
        usage = Usage(
            input_tokens=token_count(stats.get("input_tokens")),
            output_tokens=token_count(stats.get("output_tokens")),
            cache_read_input_tokens=token_count(stats.get("cached")),
        )
        if usage != Usage():
            yield UsageItem(scope="run", usage=usage)
        if error := _text(json_object(event.get("error")).get("message")):
            yield ErrorItem(message=error)
    elif kind is None:  # the `json` document printed on one line
        if text := _text(event.get("response")):
            yield MessageItem(text=text)
        if (totals := gemini_usage(json_object(event.get("stats")))) is not None:
            yield UsageItem(scope="run", usage=totals)
        if error := _text(json_object(event.get("error")).get("message")):
            yield ErrorItem(message=error)


# opencode: `run --format json` events, a tool's call and result in one.


def _opencode(event: dict[str, Any]) -> Iterator[Any]:
    kind, part = event.get("type"), json_object(event.get("part"))
    if kind == "text" and (text := _text(part.get("text"))):
        yield MessageItem(text=text)
    elif kind == "reasoning" and (text := _text(part.get("text"))):
        yield MessageItem(role="thinking", text=text)
    elif kind == "tool_use":
        state = json_object(part.get("state"))
        call_id = str(part.get("callID") or part.get("id"))
        diff = _text(json_object(state.get("metadata")).get("diff"))
        yield tool_call(call_id, _text(part.get("tool")) or "tool", state.get("input"), diff)
        if state.get("status") in ("completed", "error"):
            failed = state.get("status") == "error"
            output = _text(state.get("error") if failed else state.get("output"))
            yield ToolResultItem(id=call_id, output=output or "", is_error=failed)
    elif kind == "step_finish":
        yield UsageItem(scope="turn", turn=_text(part.get("id")), usage=opencode_usage(event))
    elif kind == "error":
        error = json_object(event.get("error"))
        data = json_object(error.get("data"))
        message = _text(data.get("message")) or _text(error.get("name")) or "opencode error"
        yield ErrorItem(message=message)


_READERS: dict[str, Callable[[dict[str, Any]], Iterator[Any]]] = {
    "claude": _claude,
    "codex": _codex,
    "gemini": _gemini,
    "opencode": _opencode,
}


def has_conversation(backend_type: str) -> bool:
    """Whether a `backend_type` CLI prints its conversation in a form read here."""
    return backend_type in _READERS


def _parse(line: str) -> Any:
    try:
        return json.loads(line)
    except (ValueError, RecursionError):
        return None


def derive(backend_type: str, line: str) -> Items:
    """The conversation items of one output line of a `backend_type` CLI ([] for most).

    Cheap for lines that cannot hold any: only a line that starts like JSON is
    parsed. Never raises on bad input (a line cut at 256 KiB simply holds none).
    """
    reader = _READERS.get(backend_type)
    if reader is None:
        return []
    if line[:1] == "{":
        event = _parse(line)
        events = [event] if isinstance(event, dict) else []
    elif line[:2] == "[{" and backend_type == "claude":
        parsed = _parse(line)
        events = [e for e in parsed if isinstance(e, dict)] if isinstance(parsed, list) else []
    elif backend_type == "gemini" and line.startswith(_GEMINI_RESPONSE):
        text = _parse(line[len(_GEMINI_RESPONSE) :].removesuffix(","))
        return [MessageItem(text=text)] if isinstance(text, str) and text else []
    else:
        return []
    items: Items = []
    for event in events:
        items.extend(reader(event))
    return items


def entry_data(seq: int, items: Items) -> dict[str, Any]:
    """A line's items as JSON data, in the shape of a `ConversationEntry`."""
    return {
        "seq": seq,
        "items": [item.model_dump(mode="json") for item in items],
    }


def entry_json(backend_type: str, seq: int, line: str) -> bytes:
    """A line's `ConversationEntry` as JSON followed by a comma, or b"" when it holds none
    (for joining a page of them into a JSON array without parsing them again)."""
    items = derive(backend_type, line)
    if not items:
        return b""
    return (
        json.dumps(entry_data(seq, items), separators=(",", ":"), ensure_ascii=False).encode()
        + b","
    )


def conversation_event(backend_type: str, seq: int, line: str) -> bytes:
    """The `conversation` SSE event of a line, or b"" when the line holds no items.

    It carries no `id:` of its own and goes right before the line's `log` event
    (which has `id: <seq>`): a client that loses the connection between the two
    resumes before the line and gets both again, so nothing is lost and the
    `seq` in its data tells a repeat.
    """
    items = derive(backend_type, line)
    return encode_event("conversation", entry_data(seq, items)) if items else b""
