"""Seeding a finished execution with a very long log, straight into SQLite (fast).

Writing a million lines through a CLI takes minutes; the viewer, the search and
the download only care what is stored. Tests (and the browser tests, through
`python -m tests.support.seed_log DB EXECUTION_ID COUNT`) first let a real run
create the execution, then replace its log with `count` numbered lines.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator

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


def _rows(execution_id: str, first: int, last: int, count: int) -> Iterator[LogRow]:
    for seq in range(first, last + 1):
        stream = "stderr" if seq % 500 == 0 else "stdout"
        yield (execution_id, seq, stream, seeded_line(seq, count), START + seq / 1000)


def seed(
    connection: sqlite3.Connection,
    execution_id: str,
    count: int,
    first: int = 1,
    last: int | None = None,
) -> None:
    """Write lines `first`…`last` (all `count` by default) of the seeded log (see `seeded_line`);
    the first batch replaces the execution's log. The caller commits."""
    last = count if last is None else last
    if first == 1:
        connection.execute("DELETE FROM execution_logs WHERE execution_id = ?", (execution_id,))
    connection.executemany(
        "INSERT INTO execution_logs (execution_id, seq, stream, content, timestamp)"
        " VALUES (?, ?, ?, ?, ?)",
        _rows(execution_id, first, last, count),
    )
    connection.execute("UPDATE executions SET log_lines = ? WHERE id = ?", (last, execution_id))


# Lines per transaction when seeding a running server's database: each commits within a
# second or so, well inside the server's busy timeout, so its own writes never fail meanwhile.
BATCH = 50_000

if __name__ == "__main__":
    database, execution, lines = sys.argv[1], sys.argv[2], int(sys.argv[3])
    opened = sqlite3.connect(database, timeout=30)
    for start in range(1, lines + 1, BATCH):
        with opened:  # one transaction per batch
            seed(opened, execution, lines, start, min(start + BATCH - 1, lines))
    opened.close()
