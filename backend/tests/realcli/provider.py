"""A mock model provider for the real CLIs: the four wire formats they speak, and the failures.

The real claude, codex, gemini and opencode run in the end-to-end tests against this
server instead of the providers' hosts (the test machine has no other network). It
answers Anthropic Messages (streaming SSE and plain JSON), OpenAI Responses
(streaming), OpenAI chat completions (streaming and not) and Gemini generateContent /
streamGenerateContent, each with the error bodies and headers the real APIs send.

What a request gets is chosen by a marker in the prompt, `[mock:<scenario>]`: every
CLI sends the prompt in each request of the run (opencode's title request and
gemini's router call included), so one server serves every test at once. A request
without a marker is answered `ok`.

Two scenarios make a run of more than one request. `mcp` calls Agented's MCP tool: a
request offering a tool whose name has `send_message` in it (each CLI names MCP tools
its own way) is answered with a call of it, to the agent the prompt names in
`[to:<agent id>]`; the request carrying the tool's result, with the answer.
`overload-once` answers the first request of the key the prompt names in `[key:<key>]`
as `overload` does and every later one as `ok`, so that a retry of the run succeeds.

A raw ASGI app (served by Hypercorn on its own thread's event loop): nothing here
blocks, so a slow stream never holds up another CLI's request.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from hypercorn.asyncio import serve
from hypercorn.config import Config

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

ANSWER = "MOCK-OK: the answer is 4."
INPUT_TOKENS = 100
OUTPUT_TOKENS = 9
CACHED_TOKENS = 20
# How long the `slow` scenario streams: chunks this far apart.
SLOW_CHUNKS = 6
SLOW_CHUNK_SECONDS = 0.5
# The reset the `429-reset` and `usage-limit` scenarios announce.
RESET_SECONDS = 3600

SCENARIOS = ("ok", "slow", "429", "429-reset", "usage-limit", "401", "400", "overload")
# A Claude subscription's limit (five hours, weekly), for claude signed in with a token.
SUBSCRIPTION_LIMIT = "subscription-limit"
MCP = "mcp"
OVERLOAD_ONCE = "overload-once"
MCP_TOOL = "send_message"
MCP_MESSAGE = "MOCK-MCP: hello from the mock model"
_MARKER = re.compile(rb"\[mock:([a-z0-9-]+)\]")
_RECIPIENT = re.compile(rb"\[to:([A-Za-z0-9_-]+)\]")
_KEY = re.compile(rb"\[key:([A-Za-z0-9_-]+)\]")
# The requests that ask for a model's answer (not claude's HEAD /, not a model list).
_ANSWER_PATHS = ("/messages", "/responses", "/chat/completions", "generatecontent")
_SCHEMAS = {"input_schema", "parameters", "parametersJsonSchema"}


@dataclass(frozen=True)
class Reply:
    """What the mock answers: a status, headers and either a JSON body or an SSE stream."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    events: tuple[bytes, ...] = ()  # SSE frames, for a streamed 200
    chunk_delay: float = 0.0


@dataclass(frozen=True)
class Request:
    """One request the mock answered, for the tests to look at."""

    method: str
    path: str
    scenario: str
    status: int
    started: float  # time.time()
    finished: float
    body: bytes = b""  # what the CLI sent: its tools, the conversation so far
    tools: tuple[str, ...] = ()  # the names of the tools it offered the model


def _sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data)}\n\n".encode()


def _chunks(scenario: str) -> list[str]:
    """The answer in pieces: many for the slow stream, which sends them apart."""
    if scenario != "slow":
        return [ANSWER]
    words = ANSWER.split(" ")
    size = -(-len(words) // SLOW_CHUNKS)
    return [" ".join(words[i : i + size]) + " " for i in range(0, len(words), size)]


# ---- Anthropic Messages -------------------------------------------------------------------


def _anthropic_error(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}}


def anthropic(scenario: str, payload: dict[str, Any]) -> Reply:
    model = str(payload.get("model", "mock-model"))
    match scenario:
        case "429":
            return Reply(
                429,
                _anthropic_error(
                    "rate_limit_error", "Number of requests has exceeded your rate limit."
                ),
            )
        case "429-reset":
            return Reply(
                429,
                _anthropic_error(
                    "rate_limit_error", "Number of requests has exceeded your rate limit."
                ),
                {
                    "retry-after": str(RESET_SECONDS),
                    "anthropic-ratelimit-requests-reset": _iso(RESET_SECONDS),
                },
            )
        case "usage-limit":
            # The API's own usage limit (a key's spend cap): a 400 naming when access returns.
            until = time.gmtime(time.time() + RESET_SECONDS)
            return Reply(
                400,
                _anthropic_error(
                    "invalid_request_error",
                    "You have reached your specified API usage limits. You will regain access on "
                    f"{time.strftime('%Y-%m-%d', until)} at {time.strftime('%H:%M', until)} UTC.",
                ),
            )
        case "401":
            return Reply(401, _anthropic_error("authentication_error", "invalid x-api-key"))
        case "400":
            return Reply(400, _anthropic_error("invalid_request_error", "messages: field required"))
        case "overload":
            return Reply(529, _anthropic_error("overloaded_error", "Overloaded"))
        case "subscription-limit":
            # What the API answers a subscription past its window: the window and its reset
            # (epoch seconds) in the unified rate-limit headers.
            return Reply(
                429,
                _anthropic_error(
                    "rate_limit_error", "Number of requests has exceeded your rate limit."
                ),
                {
                    "anthropic-ratelimit-unified-status": "rejected",
                    "anthropic-ratelimit-unified-reset": str(int(time.time()) + RESET_SECONDS),
                    "anthropic-ratelimit-unified-representative-claim": "five_hour",
                },
            )
    usage = {
        "input_tokens": 12,
        "output_tokens": OUTPUT_TOKENS,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }
    message = {
        "id": "msg_mock",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {**usage, "output_tokens": 1},
    }
    if not payload.get("stream"):
        text = {"type": "text", "text": ANSWER}
        return Reply(200, {**message, "content": [text], "stop_reason": "end_turn", "usage": usage})
    events = [
        _sse({"type": "message_start", "message": message}, "message_start"),
        _sse(
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
            "content_block_start",
        ),
        *(
            _sse(
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": text},
                },
                "content_block_delta",
            )
            for text in _chunks(scenario)
        ),
        _sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
        _sse(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": OUTPUT_TOKENS},
            },
            "message_delta",
        ),
        _sse({"type": "message_stop"}, "message_stop"),
    ]
    return _stream(scenario, events)


# ---- OpenAI (Responses and chat completions share the errors) ----------------------------


def _openai_error(message: str, kind: str, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


# opencode retries a 429 or 5xx five times by itself, waiting what `retry-after-ms` says
# first (else `retry-after`, else 2 s doubling). The mock's failures say 1 ms there, so
# runs end in seconds; Agented reads `retry-after`, which only `429-reset` sends.
_FAST_RETRY = {"retry-after-ms": "1"}
# OpenAI sends its rate-limit headers on every response, errors that are no limit too.
_RATE_HEADERS = {"x-ratelimit-limit-requests": "500", "x-ratelimit-remaining-requests": "499"}


def _openai_failure(scenario: str) -> Reply | None:
    match scenario:
        case "429":
            return Reply(
                429,
                _openai_error("Rate limit reached for requests", "requests", "rate_limit_exceeded"),
                {**_FAST_RETRY, "x-ratelimit-remaining-requests": "0"},
            )
        case "429-reset":
            return Reply(
                429,
                _openai_error("Rate limit reached for requests", "requests", "rate_limit_exceeded"),
                {
                    **_FAST_RETRY,
                    "retry-after": str(RESET_SECONDS),
                    "x-ratelimit-remaining-requests": "0",
                    "x-ratelimit-reset-requests": f"{RESET_SECONDS}s",
                },
            )
        case "usage-limit":
            return Reply(
                429,
                _openai_error(
                    "You exceeded your current quota, please check your plan and billing details.",
                    "insufficient_quota",
                    "insufficient_quota",
                ),
                dict(_FAST_RETRY),
            )
        case "401":
            return Reply(
                401,
                _openai_error(
                    "Incorrect API key provided: sk-mock.",
                    "invalid_request_error",
                    "invalid_api_key",
                ),
                dict(_RATE_HEADERS),
            )
        case "400":
            return Reply(
                400,
                _openai_error("Invalid value for 'input'.", "invalid_request_error", None),
                dict(_RATE_HEADERS),
            )
        case "overload":
            return Reply(
                503,
                _openai_error("The server is overloaded or not ready yet.", "server_error", None),
                dict(_FAST_RETRY),
            )
    return None


def _codex_usage_limit() -> Reply:
    """The ChatGPT backend's usage limit, which codex turns into "You've hit your usage limit"."""
    body = {
        "error": {
            "type": "usage_limit_reached",
            "message": "The usage limit has been reached",
            "plan_type": "plus",
            "resets_at": int(time.time()) + RESET_SECONDS,
            "resets_in_seconds": RESET_SECONDS,
        }
    }
    return Reply(429, body)


def openai_responses(scenario: str, payload: dict[str, Any]) -> Reply:
    if scenario == "usage-limit":
        return _codex_usage_limit()
    if (failure := _openai_failure(scenario)) is not None:
        return failure
    model = str(payload.get("model", "mock-model"))
    item = {
        "id": "msg_mock",
        "type": "message",
        "role": "assistant",
        "status": "in_progress",
        "content": [],
    }
    response = {
        "id": "resp_mock",
        "object": "response",
        "created_at": int(time.time()),
        "status": "in_progress",
        "model": model,
        "output": [],
    }
    done_item = {
        **item,
        "status": "completed",
        "content": [{"type": "output_text", "text": ANSWER, "annotations": []}],
    }
    usage = {
        "input_tokens": INPUT_TOKENS,
        "input_tokens_details": {"cached_tokens": CACHED_TOKENS},
        "output_tokens": OUTPUT_TOKENS,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": INPUT_TOKENS + OUTPUT_TOKENS,
    }
    frame = {"item_id": "msg_mock", "output_index": 0, "content_index": 0}
    events = [
        _sse({"type": "response.created", "response": response}, "response.created"),
        _sse(
            {"type": "response.output_item.added", "output_index": 0, "item": item},
            "response.output_item.added",
        ),
        *(
            _sse(
                {"type": "response.output_text.delta", **frame, "delta": text},
                "response.output_text.delta",
            )
            for text in _chunks(scenario)
        ),
        _sse(
            {"type": "response.output_text.done", **frame, "text": ANSWER},
            "response.output_text.done",
        ),
        _sse(
            {"type": "response.output_item.done", "output_index": 0, "item": done_item},
            "response.output_item.done",
        ),
        _sse(
            {
                "type": "response.completed",
                "response": {
                    **response,
                    "status": "completed",
                    "output": [done_item],
                    "usage": usage,
                },
            },
            "response.completed",
        ),
    ]
    return _stream(scenario, events)


def openai_chat(scenario: str, payload: dict[str, Any]) -> Reply:
    if (failure := _openai_failure(scenario)) is not None:
        return failure
    model = str(payload.get("model", "mock-model"))
    usage = {
        "prompt_tokens": INPUT_TOKENS,
        "completion_tokens": OUTPUT_TOKENS,
        "total_tokens": INPUT_TOKENS + OUTPUT_TOKENS,
    }
    base = {"id": "chatcmpl-mock", "created": int(time.time()), "model": model}
    if not payload.get("stream"):
        choice = {
            "index": 0,
            "message": {"role": "assistant", "content": ANSWER},
            "finish_reason": "stop",
        }
        return Reply(
            200, {**base, "object": "chat.completion", "choices": [choice], "usage": usage}
        )
    chunk = {**base, "object": "chat.completion.chunk"}
    events = [
        _sse({**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}),
        *(
            _sse(
                {
                    **chunk,
                    "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}],
                }
            )
            for text in _chunks(scenario)
        ),
        _sse(
            {
                **chunk,
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                "usage": usage,
            }
        ),
        b"data: [DONE]\n\n",
    ]
    return _stream(scenario, events)


# ---- Gemini -------------------------------------------------------------------------------


def _google_error(
    code: int, status: str, message: str, details: list[Any] | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        error["details"] = details
    return {"error": error}


def _gemini_failure(scenario: str) -> Reply | None:
    exhausted = "Resource has been exhausted (e.g. check quota)."
    match scenario:
        case "429":
            return Reply(429, _google_error(429, "RESOURCE_EXHAUSTED", exhausted))
        case "429-reset":
            retry = {
                "@type": "type.googleapis.com/google.rpc.RetryInfo",
                "retryDelay": f"{RESET_SECONDS}s",
            }
            return Reply(429, _google_error(429, "RESOURCE_EXHAUSTED", exhausted, [retry]))
        case "usage-limit":
            quota = {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [
                    {
                        "quotaMetric": "generativelanguage/generate_content_free_tier_requests",
                        "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
                    }
                ],
            }
            message = "You exceeded your current quota, please check your plan and billing details."
            return Reply(429, _google_error(429, "RESOURCE_EXHAUSTED", message, [quota]))
        case "401":
            return Reply(
                401,
                _google_error(
                    401, "UNAUTHENTICATED", "API key not valid. Please pass a valid API key."
                ),
            )
        case "400":
            return Reply(
                400, _google_error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.")
            )
        case "overload":
            return Reply(
                503,
                _google_error(
                    503, "UNAVAILABLE", "The model is overloaded. Please try again later."
                ),
            )
    return None


def gemini(scenario: str, stream: bool) -> Reply:
    if (failure := _gemini_failure(scenario)) is not None:
        return failure
    usage = {
        "promptTokenCount": INPUT_TOKENS,
        "candidatesTokenCount": OUTPUT_TOKENS,
        "totalTokenCount": INPUT_TOKENS + OUTPUT_TOKENS,
    }
    if not stream:
        candidate = {
            "content": {"role": "model", "parts": [{"text": ANSWER}]},
            "finishReason": "STOP",
            "index": 0,
        }
        return Reply(
            200, {"candidates": [candidate], "usageMetadata": usage, "modelVersion": "mock"}
        )
    pieces = _chunks(scenario)
    events = []
    for index, text in enumerate(pieces):
        candidate: dict[str, Any] = {
            "content": {"role": "model", "parts": [{"text": text}]},
            "index": 0,
        }
        last = index == len(pieces) - 1
        if last:
            candidate["finishReason"] = "STOP"
        events.append(
            _sse({"candidates": [candidate], **({"usageMetadata": usage} if last else {})})
        )
    return _stream(scenario, events)


# ---- a call of Agented's MCP tool (the `mcp` scenario) ----------------------------------


def tool_names(payload: Any, namespace: str = "") -> list[str]:
    """The names of the tools a request offers, in any of the four formats: each `name`
    beside a schema (Anthropic's `input_schema`, OpenAI's `parameters`, Gemini's too); a
    tool in one of the Responses API's namespaces (codex's MCP tools) as `namespace:name`."""
    names: list[str] = []
    if isinstance(payload, dict):
        name = payload.get("name")
        if payload.get("type") == "namespace" and isinstance(name, str):
            return tool_names(payload.get("tools"), f"{name}:")
        if isinstance(name, str) and (_SCHEMAS & set(payload)):
            names.append(namespace + name)
        for value in payload.values():
            names += tool_names(value, namespace)
    elif isinstance(payload, list):
        for value in payload:
            names += tool_names(value, namespace)
    return names


def _has_tool_result(payload: Any) -> bool:
    """Whether the conversation sent holds a tool's result (the call was made)."""
    if isinstance(payload, dict):
        if payload.get("type") in ("tool_result", "function_call_output"):
            return True
        if payload.get("role") == "tool" or "functionResponse" in payload:
            return True
        return any(_has_tool_result(value) for value in payload.values())
    if isinstance(payload, list):
        return any(_has_tool_result(value) for value in payload)
    return False


def mcp_call(path: str, payload: dict[str, Any], recipient: str) -> Reply | None:
    """The call of the tool named like `send_message`, in the request's own format; None
    when the request offers no such tool or already holds the call's result."""
    tool = next((name for name in tool_names(payload.get("tools")) if MCP_TOOL in name), None)
    if tool is None or _has_tool_result(payload):
        return None
    arguments = {"to_agent_id": recipient, "content": MCP_MESSAGE}
    encoded = json.dumps(arguments)
    if path.endswith("/messages"):
        return _anthropic_tool_call(payload, tool, arguments)
    if path.endswith("/responses"):
        namespace, _, name = tool.rpartition(":")
        call = {"type": "function_call", "id": "fc_mock", "call_id": "call_mock", "name": name}
        if namespace:
            call["namespace"] = namespace
        response = {"id": "resp_mock", "object": "response", "created_at": int(time.time())}
        response |= {"model": str(payload.get("model", "mock-model")), "output": []}
        done = {**call, "arguments": encoded, "status": "completed"}
        usage = {"input_tokens": INPUT_TOKENS, "output_tokens": OUTPUT_TOKENS}
        usage |= {"total_tokens": INPUT_TOKENS + OUTPUT_TOKENS}
        events = [
            _sse({"type": "response.created", "response": response}, "response.created"),
            _sse(
                {
                    "type": "response.output_item.added",
                    "output_index": 0,
                    "item": {**call, "arguments": "", "status": "in_progress"},
                },
                "response.output_item.added",
            ),
            _sse(
                {"type": "response.output_item.done", "output_index": 0, "item": done},
                "response.output_item.done",
            ),
            _sse(
                {
                    "type": "response.completed",
                    "response": {
                        **response,
                        "status": "completed",
                        "output": [done],
                        "usage": usage,
                    },
                },
                "response.completed",
            ),
        ]
        return _stream(MCP, events)
    if path.endswith("/chat/completions"):
        base = {"id": "chatcmpl-mock", "created": int(time.time()), "model": "mock-model"}
        chunk = {**base, "object": "chat.completion.chunk"}
        call = {"index": 0, "id": "call_mock", "type": "function"}
        call["function"] = {"name": tool, "arguments": encoded}
        usage = {"prompt_tokens": INPUT_TOKENS, "completion_tokens": OUTPUT_TOKENS}
        usage["total_tokens"] = INPUT_TOKENS + OUTPUT_TOKENS
        delta = {"role": "assistant", "content": None, "tool_calls": [call]}
        events = [
            _sse({**chunk, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}),
            _sse(
                {
                    **chunk,
                    "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}],
                    "usage": usage,
                }
            ),
            b"data: [DONE]\n\n",
        ]
        return _stream(MCP, events)
    if path.lower().endswith("generatecontent"):
        candidate = {
            "content": {
                "role": "model",
                "parts": [{"functionCall": {"name": tool, "args": arguments}}],
            },
            "finishReason": "STOP",
            "index": 0,
        }
        usage = {"promptTokenCount": INPUT_TOKENS, "candidatesTokenCount": OUTPUT_TOKENS}
        usage["totalTokenCount"] = INPUT_TOKENS + OUTPUT_TOKENS
        body = {"candidates": [candidate], "usageMetadata": usage}
        if path.endswith(":streamGenerateContent"):
            return _stream(MCP, [_sse(body)])
        return Reply(200, body)
    return None


def _anthropic_tool_call(payload: dict[str, Any], tool: str, arguments: dict[str, Any]) -> Reply:
    usage = {"input_tokens": 12, "output_tokens": OUTPUT_TOKENS}
    block = {"type": "tool_use", "id": "toolu_mock", "name": tool}
    message = {
        "id": "msg_mock",
        "type": "message",
        "role": "assistant",
        "model": str(payload.get("model", "mock-model")),
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {**usage, "output_tokens": 1},
    }
    if not payload.get("stream"):
        content = [{**block, "input": arguments}]
        return Reply(
            200, {**message, "content": content, "stop_reason": "tool_use", "usage": usage}
        )
    events = [
        _sse({"type": "message_start", "message": message}, "message_start"),
        _sse(
            {"type": "content_block_start", "index": 0, "content_block": {**block, "input": {}}},
            "content_block_start",
        ),
        _sse(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": json.dumps(arguments)},
            },
            "content_block_delta",
        ),
        _sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
        _sse(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                "usage": {"output_tokens": OUTPUT_TOKENS},
            },
            "message_delta",
        ),
        _sse({"type": "message_stop"}, "message_stop"),
    ]
    return _stream(MCP, events)


# ---- the server ---------------------------------------------------------------------------


def _stream(scenario: str, events: list[bytes]) -> Reply:
    delay = SLOW_CHUNK_SECONDS if scenario == "slow" else 0.0
    return Reply(200, events=tuple(events), chunk_delay=delay)


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + seconds))


def route(
    method: str, path: str, body: bytes, payload: dict[str, Any], failed: set[str]
) -> tuple[str, Reply]:
    """The scenario of a request and the reply to it; `failed` holds the `overload-once`
    keys already answered with their failure (the server's, shared by its requests)."""
    scenario = match[1].decode() if (match := _MARKER.search(body)) else "ok"
    if scenario not in (*SCENARIOS, SUBSCRIPTION_LIMIT, MCP, OVERLOAD_ONCE):
        return scenario, Reply(500, {"error": f"mock: unknown scenario {scenario!r}"})
    if method == "HEAD" or (method == "GET" and not path.startswith("/v1")):
        return scenario, Reply(200, {})  # claude's reachability check
    recipient = _RECIPIENT.search(body) if scenario == MCP else None
    if recipient and (call := mcp_call(path, payload, recipient[1].decode())) is not None:
        return scenario, call
    if scenario == OVERLOAD_ONCE:
        key = match[1].decode() if (match := _KEY.search(body)) else ""
        answering = method == "POST" and path.lower().endswith(_ANSWER_PATHS)
        if answering and key not in failed:
            failed.add(key)
            return scenario, _reply("overload", path, payload)
        return scenario, _reply("ok", path, payload)
    return scenario, _reply(scenario, path, payload)


def _reply(scenario: str, path: str, payload: dict[str, Any]) -> Reply:
    if path.endswith("/messages"):
        return anthropic(scenario, payload)
    if path.endswith("/responses"):
        return openai_responses(scenario, payload)
    if path.endswith("/chat/completions"):
        return openai_chat(scenario, payload)
    if path.endswith(":streamGenerateContent"):
        return gemini(scenario, stream=True)
    if path.endswith(":generateContent"):
        return gemini(scenario, stream=False)
    if path.endswith("/models"):
        return Reply(200, {"object": "list", "data": [], "models": []})
    return Reply(404, {"error": f"mock: no route for {path}"})


class MockProvider:
    """The ASGI app; `requests` lists what was answered, in order (thread-safe to read)."""

    def __init__(self) -> None:
        self._requests: list[Request] = []
        self._lock = threading.Lock()
        self._failed: set[str] = set()  # touched on the server's loop only

    @property
    def requests(self) -> list[Request]:
        with self._lock:
            return list(self._requests)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        started = time.time()
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        try:
            payload = json.loads(body) if body else {}
        except ValueError:
            payload = {}
        if not isinstance(payload, dict):
            payload = {}
        try:
            scenario, reply = route(scope["method"], scope["path"], body, payload, self._failed)
        except Exception as error:  # a bug of the mock's: the request and the CLI say which
            scenario, reply = "error", Reply(500, {"error": f"mock: {error!r}"})
        await self._send(send, reply)
        tools = tuple(tool_names(payload.get("tools")))
        with self._lock:
            self._requests.append(
                Request(
                    scope["method"],
                    scope["path"],
                    scenario,
                    reply.status,
                    started,
                    time.time(),
                    body,
                    tools,
                )
            )

    @staticmethod
    async def _send(send: Send, reply: Reply) -> None:
        if reply.events:
            headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
            await send({"type": "http.response.start", "status": reply.status, "headers": headers})
            for index, event in enumerate(reply.events):
                if index and reply.chunk_delay:
                    await asyncio.sleep(reply.chunk_delay)
                await send({"type": "http.response.body", "body": event, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
            return
        data = json.dumps(reply.body).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(data)).encode()),
        ]
        headers += [(name.encode(), value.encode()) for name, value in reply.headers.items()]
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": data})


def _wait_listening(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the mock provider is not listening on {port}") from None
            time.sleep(0.05)


@contextmanager
def running_provider(port: int) -> Iterator[MockProvider]:
    """Serve a MockProvider on 127.0.0.1:`port` from a thread of its own until the block ends."""
    app = MockProvider()
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.errorlog = None
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def main() -> None:
        await serve(app, config, shutdown_trigger=stop.wait)  # type: ignore[arg-type]

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    _wait_listening(port)
    try:
        yield app
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=10)
