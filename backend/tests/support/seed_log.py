"""Seeding a finished execution with a very long log, straight into SQLite (fast).

Writing a million lines through a CLI takes minutes; the viewer, the search and
the download only care what is stored. Tests (and the browser tests, through
`python -m tests.support.seed_log DB EXECUTION_ID COUNT [claude]`) first let a real
run create the execution, then replace its log with `count` numbered lines (or, with
`claude`, with a long claude conversation).
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Callable, Iterator

# (execution_id, seq, stream, content, timestamp): one row of execution_logs.
LogRow = tuple[str, int, str, str, float]

# A line the search tests look for, once in the whole log.
MARKER = "UNIQUE-MARKER"
START = 1_790_000_000.0  # the first line's Unix time; each next one 1 ms later


def marker_seq(count: int) -> int:
    """Where the marker line is: about three quarters through the log."""
    return max(1, count * 7 // 9)


def seeded_line(seq: int, count: int) -> str:
    if seq == marker_seq(count):
        return f"{seq} {MARKER} found here"
    if seq % 1000 == 0:
        return f"{seq} \x1b[32mcheckpoint\x1b[0m see https://example.com/builds/{seq}"
    return f"{seq} step {seq % 97} compiling module m{seq % 1013} ok"


def claude_line(seq: int, _count: int) -> str:
    """Line `seq` of a long claude `stream-json` conversation: turn after turn of a Markdown
    message, a shell command and its output (three lines a turn)."""
    turn, part = divmod(seq - 1, 3)
    usage = {"input_tokens": 30, "output_tokens": 12}
    if part == 0:
        text = f"Turn {turn}: I'll look at **file {turn}** next.\n\n- read it\n- fix it"
        content: list[dict[str, object]] = [{"type": "text", "text": text}]
    elif part == 1:
        command = {"command": f"cat file{turn}.txt"}
        content = [{"type": "tool_use", "id": f"toolu_{turn}", "name": "Bash", "input": command}]
    else:
        result = {"type": "tool_result", "tool_use_id": f"toolu_{turn}", "content": f"line {turn}"}
        return json.dumps({"type": "user", "message": {"role": "user", "content": [result]}})
    message = {"id": f"msg_{turn}", "role": "assistant", "content": content, "usage": usage}
    return json.dumps({"type": "assistant", "message": message})


def _rows(
    execution_id: str, first: int, last: int, count: int, line: Callable[[int, int], str]
) -> Iterator[LogRow]:
    for seq in range(first, last + 1):
        stream = "stderr" if seq % 500 == 0 and line is seeded_line else "stdout"
        yield (execution_id, seq, stream, line(seq, count), START + seq / 1000)


def seed(
    connection: sqlite3.Connection,
    execution_id: str,
    count: int,
    first: int = 1,
    last: int | None = None,
    line: Callable[[int, int], str] = seeded_line,
) -> None:
    """Write lines `first`…`last` (all `count` by default) of the seeded log (`line(seq,
    count)`: `seeded_line`, or `claude_line`); the first batch replaces the execution's log.
    The caller commits."""
    last = count if last is None else last
    if first == 1:
        connection.execute("DELETE FROM execution_logs WHERE execution_id = ?", (execution_id,))
    connection.executemany(
        "INSERT INTO execution_logs (execution_id, seq, stream, content, timestamp)"
        " VALUES (?, ?, ?, ?, ?)",
        _rows(execution_id, first, last, count, line),
    )
    connection.execute("UPDATE executions SET log_lines = ? WHERE id = ?", (last, execution_id))


# Lines per transaction when seeding a running server's database: each commits within a
# second or so, well inside the server's busy timeout, so its own writes never fail meanwhile.
BATCH = 50_000

if __name__ == "__main__":
    # python -m tests.support.seed_log DB EXECUTION_ID COUNT [claude]
    database, execution, lines = sys.argv[1], sys.argv[2], int(sys.argv[3])
    kind = claude_line if sys.argv[4:] == ["claude"] else seeded_line
    opened = sqlite3.connect(database, timeout=30)
    for start in range(1, lines + 1, BATCH):
        with opened:  # one transaction per batch
            seed(opened, execution, lines, start, min(start + BATCH - 1, lines), kind)
    opened.close()
