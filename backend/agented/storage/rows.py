"""Small conversions between SQLite rows and Python values, shared by the stores."""

from __future__ import annotations

import json
from typing import Any


def to_json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))


def from_json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def placeholders(count: int) -> str:
    return ", ".join("?" * count)
