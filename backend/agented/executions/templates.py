"""Prompt templates: `{name}` placeholders filled from a run's context.

Not `str.format`: prompts are full of braces (JSON, code), so only
`{identifier}` and dotted `{payload.path.0.to.value}` are placeholders, and a
placeholder with no value is left in place and reported rather than raising.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+)*)\}")

_MISSING = object()


@dataclass(frozen=True, slots=True)
class Rendered:
    prompt: str
    unresolved: tuple[str, ...]


def resolve(data: Any, path: str, default: Any = None) -> Any:
    """The value at dotted `path` (`event.items.0.kind`: keys and list indices), else `default`."""
    value = _lookup(data, path)
    return default if value is _MISSING else value


def _lookup(context: Any, name: str) -> Any:
    head, *rest = name.split(".")
    value: Any = context.get(head, _MISSING) if isinstance(context, Mapping) else _MISSING
    for part in rest:
        if isinstance(value, Mapping):
            value = value.get(part, _MISSING)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return ", ".join(value)
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def uses(template: str, name: str) -> bool:
    """Whether `template` has the placeholder `{name}` (or a dotted path below it)."""
    return any(found.group(1).split(".", 1)[0] == name for found in PLACEHOLDER.finditer(template))


def render(template: str, context: Mapping[str, Any]) -> Rendered:
    """Fill every placeholder found in `context`; list the ones that were not."""
    unresolved: list[str] = []

    def fill(match: re.Match[str]) -> str:
        value = _lookup(context, match.group(1))
        if value is _MISSING:
            if match.group(1) not in unresolved:
                unresolved.append(match.group(1))
            return match.group(0)
        return _as_text(value)

    return Rendered(PLACEHOLDER.sub(fill, template), tuple(unresolved))
