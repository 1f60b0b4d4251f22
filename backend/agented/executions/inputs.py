"""A run's input as readers see it: one line for lists, the whole with secrets redacted.

The input is what fired the run gave its prompt template (the message, a
webhook's payload, a pull request's fields). It is stored as it came, because a
re-run must give the template exactly that again; whatever shows it goes
through `redact` first.

The redaction rule: a mapping key is secret when one of its words (split at
`_`, `-`, `.`, spaces and camelCase humps, compared ignoring case) is one of
SECRET_WORDS, or when the whole key, without separators, is one of them. Its
value, whatever it is, becomes REDACTED. So `token`, `api_key`, `apiKey`,
`X-Hub-Signature-256`, `client_secret`, `Authorization` and `password` are
hidden, while `author`, `keyword` and `monkey` are not (a word must match
whole). Values are never guessed at: a secret under an innocent key stays
visible, which is why only an operator reads a run's page.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

REDACTED = "[redacted]"
SECRET_WORDS = frozenset(
    {
        "token",
        "secret",
        "password",
        "passwd",
        "passphrase",
        "authorization",
        "auth",
        "key",
        "apikey",
        "credential",
        "credentials",
        "signature",
        "cookie",
    }
)
SUMMARY_CHARS = 200
# What a template context carries besides the event's own input.
_NOT_INPUT = frozenset({"messages", "payload"})
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def is_secret_key(key: str) -> bool:
    """Whether a value under `key` is hidden (module doc: the rule)."""
    words = {word.lower() for word in _WORD.findall(key)}
    squashed = re.sub(r"[\W_]+", "", key).lower()
    return bool(words & SECRET_WORDS) or squashed in SECRET_WORDS


def redact(value: Any) -> Any:
    """`value` with every secret key's value replaced by REDACTED, at any depth."""
    if isinstance(value, Mapping):
        return {
            key: REDACTED if is_secret_key(str(key)) else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SUMMARY_CHARS else flat[: SUMMARY_CHARS - 1] + "…"


def summarize(context: Mapping[str, Any]) -> str:
    """The input in one line: its message, else the payload's gist (redacted), else ''."""
    message = context.get("message")
    if isinstance(message, str) and message.strip():
        return _one_line(message)
    payload = context.get("payload")
    if isinstance(payload, Mapping) and payload:
        return _one_line(json.dumps(redact(payload), ensure_ascii=False, separators=(", ", ": ")))
    others = {key: value for key, value in context.items() if key not in _NOT_INPUT}
    if others:
        return _one_line(json.dumps(redact(others), ensure_ascii=False, separators=(", ", ": ")))
    return ""
