"""Printing: tables for people, JSON for programs, log lines on the stream they came from.

A log line goes to stdout or stderr as the CLI printed it, so `agented run
--follow` in a CI step shows the bot's output as if the bot ran there. On a
terminal, control characters are shown escaped: an agent's output is
untrusted, and escape sequences could rewrite the screen or the window title.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from typing import Any, TextIO

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def print_json(value: Any, stream: TextIO | None = None) -> None:
    """One JSON document (or one JSON line: no indentation, never a newline inside)."""
    out = stream or sys.stdout
    out.write(json.dumps(value, ensure_ascii=False) + "\n")
    out.flush()


def shown(text: str, stream: TextIO) -> str:
    if not stream.isatty():
        return text
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def print_log_line(line: dict[str, Any]) -> None:
    stream = sys.stderr if line.get("stream") == "stderr" else sys.stdout
    stream.write(shown(str(line.get("content", "")), stream) + "\n")
    stream.flush()


def notice(message: str) -> None:
    """A note from the client itself, on stderr so that stdout holds only the bot's output."""
    sys.stderr.write(f"agented: {message}\n")
    sys.stderr.flush()


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max(len(text) for text in column) for column in zip(headers, *cells, strict=False)]
    for row in [list(headers), *cells]:
        line = "  ".join(text.ljust(width) for text, width in zip(row, widths, strict=True))
        sys.stdout.write(shown(line.rstrip(), sys.stdout) + "\n")
    sys.stdout.flush()


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def duration(milliseconds: int | None) -> str | None:
    if milliseconds is None:
        return None
    seconds = milliseconds / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes}m{seconds:02d}s"
