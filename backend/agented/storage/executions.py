"""Executions and their log lines."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..models import Bot, Execution, LogLine, TriggerType, iso, utc_now
from .database import Connection, Database
from .dialect import Dialect
from .rows import RowMapping, from_json, placeholders, to_json

# One stored log line as it is written: (seq, stream, content, unix timestamp).
LogRow = tuple[int, str, str, float]

INTERRUPTED_BY_CRASH = "the server stopped while this execution was active"

# LIKE's wildcards and the escape character used with them, escaped in a search text.
_LIKE_SPECIAL = re.compile(r"[%_!]")


# The table also keeps `seq` (the listing order) and the process columns, which
# are not part of the record and so not read into it; the input lives in its own table.
_ROWS = RowMapping(Execution)


@dataclass(frozen=True, slots=True)
class Page:
    executions: list[Execution]
    total: int


@dataclass(frozen=True, slots=True)
class Filters:
    """Which executions a list shows; every filter left None lets all through.

    `since` and `until` bound `created_at` (ISO-8601, `until` exclusive); `text`
    is looked for in the prompt, ignoring case.
    """

    status: str | None = None
    bot_id: str | None = None
    trigger_type: str | None = None
    since: str | None = None
    until: str | None = None
    text: str | None = None

    def where(self, dialect: Dialect) -> tuple[str, list[Any]]:
        conditions: list[str] = []
        parameters: list[Any] = []
        for condition, value in (
            ("status = ?", self.status),
            ("bot_id = ?", self.bot_id),
            ("trigger_type = ?", self.trigger_type),
            ("created_at >= ?", self.since),
            ("created_at < ?", self.until),
            (dialect.contains("lower(prompt)", "lower(?)"), self.text),
        ):
            if value is not None:
                conditions.append(condition)
                parameters.append(value)
        return (f"WHERE {' AND '.join(conditions)}" if conditions else ""), parameters


@dataclass(frozen=True, slots=True)
class Outcome:
    """How an execution ended; written once, together with its last log lines."""

    status: str
    exit_code: int | None = None
    error_message: str | None = None
    usage: dict[str, Any] | None = None
    session_id: str | None = None


def announcement(execution_id: str, seq: int) -> str:
    """The NOTIFY payload saying an execution has news: lines stored up to `seq`, a start,
    an end. A few dozen bytes, far under PostgreSQL's 8,000-byte payload limit."""
    return json.dumps({"execution": execution_id, "seq": seq})


def announced(payload: str) -> str | None:
    """The execution an announcement names; None for a payload that is not one."""
    try:
        execution_id = json.loads(payload)["execution"]
    except (ValueError, KeyError, TypeError):
        return None
    return execution_id if isinstance(execution_id, str) else None


def usage_cost(dialect: Dialect) -> str:
    """The USD cost an execution's CLI reported, 0 when it reported none (SQL)."""
    return f"COALESCE({dialect.json_number('usage', 'total_cost_usd')}, 0)"


def usage_tokens(dialect: Dialect) -> str:
    """An execution's tokens as spend limits and monitoring count them: input plus output
    (see executions/spend.py), 0 for what the CLI did not report (SQL)."""
    return (
        f"(COALESCE({dialect.json_number('usage', 'input_tokens')}, 0)"
        f" + COALESCE({dialect.json_number('usage', 'output_tokens')}, 0))"
    )


class ExecutionStore:
    """Executions and their lines. A store with an `announce` channel (a worker's, on
    PostgreSQL) NOTIFYs it in the same transaction as each change a server waits for, so
    the notification arrives once the change is visible, never before."""

    def __init__(self, database: Database, *, announce: str | None = None) -> None:
        self._db = database
        self._announce = announce
        dialect = self._dialect = database.dialect
        self._cost = usage_cost(dialect)
        self._tokens = usage_tokens(dialect)

    async def create(
        self,
        execution_id: str,
        bot: Bot,
        trigger_type: TriggerType,
        prompt: str,
        command: Sequence[str],
        *,
        status: str = "queued",
        retry_of: str | None = None,
        attempt: int = 0,
        account_id: str | None = None,
        not_before: str | None = None,
        waiting_reason: str | None = None,
        rerun_of: str | None = None,
        context: Mapping[str, Any] | None = None,
        input_summary: str = "",
        trigger_details: Mapping[str, Any] | None = None,
    ) -> Execution:
        """Record a new execution, numbered by its bot, with the input it was given."""
        row = _ROWS.to_row(
            {
                "id": execution_id,
                "bot_id": bot.id,
                "bot_name": bot.name,
                "trigger_type": trigger_type,
                "status": status,
                "backend_type": bot.backend_type,
                "prompt": prompt,
                "command": list(command),
                "created_at": iso(utc_now()),
                "retry_of": retry_of,
                "attempt": attempt,
                "account_id": account_id,
                "not_before": not_before,
                "waiting_reason": waiting_reason,
                "rerun_of": rerun_of,
                "input_summary": input_summary,
                "trigger_details": None if trigger_details is None else dict(trigger_details),
            }
        )
        stored_context = to_json(dict(context or {}))

        def insert(connection: Connection) -> Execution:
            # The bot's counter hands out its run numbers, inside this write: no two alike.
            numbered = connection.execute(
                "UPDATE bots SET runs_numbered = runs_numbered + 1 WHERE id = ?"
                " RETURNING runs_numbered",
                (bot.id,),
            ).fetchone()
            # seq orders the listing: one more than the newest, assigned inside the write
            connection.execute(
                f"INSERT INTO executions (seq, run_number, {', '.join(row)}) VALUES"
                " ((SELECT COALESCE(MAX(seq), 0) + 1 FROM executions), ?,"
                f" {placeholders(len(row))})",
                (0 if numbered is None else numbered[0], *row.values()),
            )
            connection.execute(
                "INSERT INTO execution_inputs (execution_id, context) VALUES (?, ?)",
                (execution_id, stored_context),
            )
            return _fetch(connection, execution_id)

        return await self._db.write(insert)

    async def get(self, execution_id: str) -> Execution | None:
        def query(connection: Connection) -> Execution | None:
            row = connection.execute(
                "SELECT * FROM executions WHERE id = ?", (execution_id,)
            ).fetchone()
            return None if row is None else _ROWS.from_row(row)

        return await self._db.read(query)

    async def input_of(self, execution_id: str) -> dict[str, Any] | None:
        """The input the execution was given; None for one recorded before inputs were kept."""

        def query(connection: Connection) -> dict[str, Any] | None:
            row = connection.execute(
                "SELECT context FROM execution_inputs WHERE execution_id = ?", (execution_id,)
            ).fetchone()
            return None if row is None else dict(from_json(row[0]))

        return await self._db.read(query)

    async def lineage(self, execution: Execution, limit: int = 20) -> list[Execution]:
        """The runs this one retried or re-ran, nearest first, as far back as they exist."""

        def query(connection: Connection) -> list[Execution]:
            chain: list[Execution] = []
            parent = execution.retry_of or execution.rerun_of
            while parent is not None and len(chain) < limit:
                row = connection.execute(
                    "SELECT * FROM executions WHERE id = ?", (parent,)
                ).fetchone()
                if row is None:
                    break
                chain.append(_ROWS.from_row(row))
                parent = chain[-1].retry_of or chain[-1].rerun_of
            return chain

        return await self._db.read(query)

    async def page(self, filters: Filters, *, limit: int = 50, offset: int = 0) -> Page:
        """A page of executions matching `filters`, newest first, and how many match in all."""
        where, parameters = filters.where(self._dialect)

        def query(connection: Connection) -> Page:
            total = connection.execute(
                f"SELECT COUNT(*) FROM executions {where}", parameters
            ).fetchone()[0]
            rows = connection.execute(
                f"SELECT * FROM executions {where} ORDER BY seq DESC LIMIT ? OFFSET ?",
                (*parameters, limit, offset),
            ).fetchall()
            return Page([_ROWS.from_row(row) for row in rows], total)

        return await self._db.read(query)

    async def latest_per_bot(self) -> dict[str, Execution]:
        def query(connection: Connection) -> dict[str, Execution]:
            rows = connection.execute(
                "SELECT * FROM executions WHERE seq IN (SELECT MAX(seq) FROM executions"
                " WHERE bot_id IS NOT NULL GROUP BY bot_id)"
            ).fetchall()
            return {row["bot_id"]: _ROWS.from_row(row) for row in rows}

        return await self._db.read(query)

    async def wake(
        self,
        execution_id: str,
        *,
        prompt: str,
        command: Sequence[str],
        backend_type: str,
        account_id: str | None,
    ) -> Execution | None:
        """A waiting execution, parked until now, queued to run as given; None if it no longer
        waits (cancelled meanwhile)."""
        values = _ROWS.to_row(
            {
                "prompt": prompt,
                "command": list(command),
                "backend_type": backend_type,
                "account_id": account_id,
            }
        )

        def update(connection: Connection) -> Execution | None:
            changed = connection.execute(
                "UPDATE executions SET status = 'queued', not_before = NULL,"
                f" {', '.join(f'{name} = ?' for name in values)}"
                " WHERE id = ? AND status = 'waiting'",
                (*values.values(), execution_id),
            ).rowcount
            return _fetch(connection, execution_id) if changed else None

        return await self._db.write(update)

    async def park(self, execution_id: str, not_before: str, reason: str) -> Execution | None:
        """Keep a waiting execution waiting, now until `not_before`; None if it no longer waits."""

        def update(connection: Connection) -> Execution | None:
            changed = connection.execute(
                "UPDATE executions SET not_before = ?, waiting_reason = ?"
                " WHERE id = ? AND status = 'waiting'",
                (not_before, reason, execution_id),
            ).rowcount
            return _fetch(connection, execution_id) if changed else None

        return await self._db.write(update)

    async def spend_totals(
        self, *, bot_id: str | None = None, account_id: str | None = None, day: str, month: str
    ) -> tuple[float, int, float, int]:
        """USD and tokens the executions of a bot (or of an account) that finished since `day`,
        then since `month`, reported (see executions/spend.py)."""
        column, value = ("bot_id", bot_id) if bot_id is not None else ("account_id", account_id)
        sql = (
            f"SELECT SUM(CASE WHEN finished_at >= ? THEN {self._cost} END),"
            f" SUM(CASE WHEN finished_at >= ? THEN {self._tokens} END),"
            f" SUM({self._cost}), SUM({self._tokens})"
            f" FROM executions WHERE {column} = ? AND finished_at >= ? AND usage IS NOT NULL"
        )

        def query(connection: Connection) -> tuple[float, int, float, int]:
            row = connection.execute(sql, (day, day, value, month)).fetchone()
            return (row[0] or 0.0, row[1] or 0, row[2] or 0.0, row[3] or 0)

        return await self._db.read(query)

    async def mark_running(self, execution_id: str) -> Execution:
        def update(connection: Connection) -> Execution:
            connection.execute(
                "UPDATE executions SET status = 'running', started_at = ? WHERE id = ?",
                (iso(utc_now()), execution_id),
            )
            return _fetch(connection, execution_id)

        return await self._db.write(update)

    async def finish(self, execution_id: str, outcome: Outcome) -> Execution:
        finished = utc_now()

        def update(connection: Connection) -> Execution:
            row = connection.execute(
                "SELECT started_at FROM executions WHERE id = ?", (execution_id,)
            ).fetchone()
            duration = None
            if row["started_at"] is not None:
                started = finished.fromisoformat(row["started_at"])
                duration = round((finished - started).total_seconds() * 1000)
            connection.execute(
                "UPDATE executions SET status = ?, finished_at = ?, duration_ms = ?, exit_code = ?,"
                " error_message = ?, usage = ?, session_id = ?, not_before = NULL WHERE id = ?",
                (
                    outcome.status,
                    iso(finished),
                    duration,
                    outcome.exit_code,
                    outcome.error_message,
                    to_json(outcome.usage),
                    outcome.session_id,
                    execution_id,
                ),
            )
            return _fetch(connection, execution_id)

        return await self._db.write(update)

    async def append_lines(self, batches: dict[str, list[LogRow]]) -> None:
        """Persist `(seq, stream, content, timestamp)` rows of several executions at once."""

        def insert(connection: Connection) -> None:
            for execution_id, lines in batches.items():
                _insert_lines(connection, execution_id, lines)
                self._announce_to(connection, execution_id, lines[-1][0])

        await self._db.write(insert)

    def _announce_to(self, connection: Connection, execution_id: str, seq: int) -> None:
        if self._announce is not None:
            connection.execute(
                "SELECT pg_notify(?, ?)", (self._announce, announcement(execution_id, seq))
            )

    async def claim_for_worker(self, execution_id: str, worker: str) -> bool:
        """Mark a queued execution running on `worker`; False if it no longer waits for one
        (cancelled, or ended by a server restart meanwhile)."""

        def update(connection: Connection) -> bool:
            claimed = connection.execute(
                "UPDATE executions SET status = 'running', started_at = ?, worker = ?"
                " WHERE id = ? AND status = 'queued' RETURNING log_lines",
                (iso(utc_now()), worker, execution_id),
            ).fetchone()
            if claimed is not None:
                self._announce_to(connection, execution_id, claimed[0])
            return claimed is not None

        return await self._db.write(update)

    async def record_worker_outcome(self, execution_id: str, outcome: str) -> None:
        """Store how the CLI ended on its worker (JSON), for the server to finish the run."""

        def update(connection: Connection) -> None:
            row = connection.execute(
                "UPDATE executions SET worker_outcome = ? WHERE id = ? RETURNING log_lines",
                (outcome, execution_id),
            ).fetchone()
            if row is not None:
                self._announce_to(connection, execution_id, row[0])

        await self._db.write(update)

    async def worker_progress(self, execution_id: str) -> tuple[Execution, str | None] | None:
        """An execution, and how its CLI ended on its worker (JSON) once it has."""

        def query(connection: Connection) -> tuple[Execution, str | None] | None:
            row = connection.execute(
                "SELECT * FROM executions WHERE id = ?", (execution_id,)
            ).fetchone()
            return None if row is None else (_ROWS.from_row(row), row["worker_outcome"])

        return await self._db.read(query)

    async def read_lines(
        self,
        execution_id: str,
        after_seq: int,
        limit: int,
        query: str | None = None,
        *,
        max_chars: int,
        before_seq: int | None = None,
    ) -> tuple[list[LogLine], bool]:
        """Up to `limit` lines after `after_seq` (only those containing `query`, if given),
        and whether more follow.

        With `before_seq`, the page is the newest lines below it instead (still
        above `after_seq`, returned in seq order), and "more" means more lie
        between `after_seq` and the page: that is how a viewer opens a log at
        its end, and pages back from there.

        The page also stops once its lines hold `max_chars` characters (at least one
        line is always returned): a line may be 256 KiB of NUL bytes, which JSON
        escapes sixfold, so a page bounded in rows alone could make the answer
        gigabytes long and its encoding stall the loop. Rows are streamed in batches
        bounded in bytes (`Connection.stream`), so little past the budget is read.
        """
        sql = "SELECT seq, stream, content, timestamp FROM execution_logs"
        sql += " WHERE execution_id = ? AND seq > ?"
        parameters: list[Any] = [execution_id, after_seq]
        if before_seq is not None:
            sql += " AND seq < ?"
            parameters.append(before_seq)
        if query:
            sql += f" AND {self._dialect.contains('lower(content)', 'lower(?)')}"
            parameters.append(query)
        sql += " ORDER BY seq DESC LIMIT ?" if before_seq is not None else " ORDER BY seq LIMIT ?"
        parameters.append(limit + 1)

        def select(connection: Connection) -> tuple[list[LogLine], bool]:
            lines: list[LogLine] = []
            size = 0
            more = False
            with contextlib.closing(connection.stream(sql, parameters, sized_by=2)) as rows:
                for row in rows:
                    if len(lines) == limit:
                        more = True  # the LIMIT's extra row: the last, so read to the end
                    elif lines and size >= max_chars:
                        more = True
                        break
                    else:
                        lines.append(LogLine._make(row))
                        size += len(row[2])
            if before_seq is not None:
                lines.reverse()
            return lines, more

        return await self._db.read(select)

    async def lines_at(self, execution_id: str, seqs: Sequence[int]) -> list[LogLine]:
        """The stored lines with these seqs, in seq order (a search's window of matches)."""

        def select(connection: Connection) -> list[LogLine]:
            rows = connection.execute(
                "SELECT seq, stream, content, timestamp FROM execution_logs"
                f" WHERE execution_id = ? AND seq IN ({placeholders(len(seqs))}) ORDER BY seq",
                (execution_id, *seqs),
            ).fetchall()
            return [LogLine._make(row) for row in rows]

        return await self._db.read(select) if seqs else []

    async def seqs_containing(
        self,
        execution_id: str,
        after_seq: int,
        until_seq: int,
        text: str,
        *,
        case_sensitive: bool,
        first_only: bool = False,
    ) -> list[int]:
        """The seqs in (`after_seq`, `until_seq`] of lines containing `text` (the database
        compares, ignoring case unless `case_sensitive`, as the `q` filter of `read_lines` does);
        with `first_only`, the first of them alone (the scan stops there).

        Ignoring case, LIKE with the wildcards in `text` escaped takes about half the time
        of `instr(lower(...))` in SQLite, which copies every line first."""
        if case_sensitive:
            found, needle = self._dialect.contains("content"), text
        else:
            escaped = _LIKE_SPECIAL.sub(r"!\g<0>", text)
            like = self._dialect.like_ignoring_case
            found, needle = f"content {like} ? ESCAPE '!'", f"%{escaped}%"
        sql = (
            "SELECT seq FROM execution_logs WHERE execution_id = ? AND seq > ? AND seq <= ?"
            f" AND {found} ORDER BY seq{' LIMIT 1' if first_only else ''}"
        )
        return await self._db.read(
            lambda connection: [
                row[0]
                for row in connection.execute(sql, (execution_id, after_seq, until_seq, needle))
            ]
        )

    async def seqs_where(
        self,
        execution_id: str,
        after_seq: int,
        until_seq: int,
        keep: Callable[[str], bool],
        *,
        first_only: bool = False,
    ) -> list[int]:
        """The seqs in (`after_seq`, `until_seq`] of lines for which `keep(content)` is true
        (with `first_only`, the first alone); `keep` runs on the reader thread, never on the
        event loop."""
        sql = (
            "SELECT seq, content FROM execution_logs"
            " WHERE execution_id = ? AND seq > ? AND seq <= ? ORDER BY seq"
        )

        def select(connection: Connection) -> list[int]:
            found: list[int] = []
            rows = connection.stream(sql, (execution_id, after_seq, until_seq), sized_by=1)
            with contextlib.closing(rows):  # a slice's lines are read one at a time
                for seq, content in rows:
                    if keep(content):
                        found.append(seq)
                        if first_only:
                            break
            return found

        return await self._db.read(select)

    async def read_encoded_lines(
        self,
        execution_id: str,
        after_seq: int,
        encode: Callable[[int, str, str, float], bytes],
        *,
        max_rows: int,
        max_bytes: int,
    ) -> tuple[bytes, int]:
        """Lines after `after_seq` put through `encode(seq, stream, content, timestamp)` and
        joined, and the seq of the last one (`after_seq` if none).

        At most `max_rows` lines, and no more than one line past `max_bytes` of
        encoded output. `encode` runs on the reader thread, not the event loop, and
        rows are streamed in batches bounded in bytes, so a page of very long lines
        stops at the byte budget without reading (or holding) the rest.
        """
        sql = (
            "SELECT seq, stream, content, timestamp FROM execution_logs"
            " WHERE execution_id = ? AND seq > ? ORDER BY seq LIMIT ?"
        )

        def select(connection: Connection) -> tuple[bytes, int]:
            parts: list[bytes] = []
            size = 0
            last = after_seq
            with contextlib.closing(
                connection.stream(sql, (execution_id, after_seq, max_rows), sized_by=2)
            ) as rows:
                for seq, stream, content, timestamp in rows:
                    encoded = encode(seq, stream, content, timestamp)
                    parts.append(encoded)
                    last = seq
                    size += len(encoded)
                    if size >= max_bytes:
                        break
            return b"".join(parts), last

        return await self._db.read(select)

    async def active(self) -> list[Execution]:
        """The executions queued or running, oldest first."""

        def query(connection: Connection) -> list[Execution]:
            rows = connection.execute(
                "SELECT * FROM executions WHERE status IN ('queued', 'running') ORDER BY seq"
            ).fetchall()
            return [_ROWS.from_row(row) for row in rows]

        return await self._db.read(query)

    async def record_process(self, execution_id: str, group: int, started: str | None) -> None:
        await self._db.write(
            lambda connection: connection.execute(
                "UPDATE executions SET process_group = ?, process_started = ? WHERE id = ?",
                (group, started, execution_id),
            )
        )

    async def interrupt_leftovers(self) -> list[tuple[str, int | None, str | None]]:
        """Mark what a crashed server left queued or running as `interrupted`.

        Returns their ids, with the process group (and its leader's start time) each ran in.
        """

        def update(connection: Connection) -> list[tuple[str, int | None, str | None]]:
            rows = connection.execute(
                "SELECT id, process_group, process_started FROM executions"
                " WHERE status IN ('queued', 'running')"
            ).fetchall()
            ids = [row[0] for row in rows]
            if ids:
                connection.execute(
                    "UPDATE executions SET status = 'interrupted', finished_at = ?,"
                    " error_message = COALESCE(error_message, ?)"
                    f" WHERE id IN ({placeholders(len(ids))})",
                    (iso(utc_now()), INTERRUPTED_BY_CRASH, *ids),
                )
            return [(row[0], row[1], row[2]) for row in rows]

        return await self._db.write(update)

    async def delete_finished_before(self, cutoff: str, batch: int = 200) -> int:
        """Delete finished executions (and their lines) older than `cutoff`, in short batches."""

        def delete_batch(connection: Connection) -> int:
            ids = [
                row[0]
                for row in connection.execute(
                    "SELECT id FROM executions"
                    " WHERE finished_at < ? AND status NOT IN ('queued', 'running') LIMIT ?",
                    (cutoff, batch),
                )
            ]
            if ids:
                # Their lines first: on PostgreSQL no foreign key cascades to them.
                among = f"IN ({placeholders(len(ids))})"
                connection.execute(f"DELETE FROM execution_logs WHERE execution_id {among}", ids)
                connection.execute(f"DELETE FROM executions WHERE id {among}", ids)
            return len(ids)

        removed = 0
        while deleted := await self._db.write(delete_batch):
            removed += deleted
        return removed

    async def daily_counts(self, since: str) -> list[dict[str, Any]]:
        def query(connection: Connection) -> list[dict[str, Any]]:
            rows = connection.execute(
                "SELECT substr(created_at, 1, 10) AS day, COUNT(*) AS total,"
                " COUNT(*) FILTER (WHERE status IN ('failed', 'timeout', 'interrupted')) AS failed"
                " FROM executions WHERE created_at >= ? GROUP BY day ORDER BY day",
                (since,),
            ).fetchall()
            return [dict(row) for row in rows]

        return await self._db.read(query)


def _fetch(connection: Connection, execution_id: str) -> Execution:
    return _ROWS.from_row(
        connection.execute("SELECT * FROM executions WHERE id = ?", (execution_id,)).fetchone()
    )


def _insert_lines(connection: Connection, execution_id: str, lines: list[LogRow]) -> None:
    connection.insert_many(
        "execution_logs",
        ("execution_id", "seq", "stream", "content", "timestamp"),
        [(execution_id, *line) for line in lines],
    )
    _count_lines(connection, execution_id, lines)


def _count_lines(connection: Connection, execution_id: str, lines: list[LogRow]) -> None:
    connection.execute(
        "UPDATE executions SET log_lines = ? WHERE id = ? AND log_lines < ?",
        (lines[-1][0], execution_id, lines[-1][0]),
    )
