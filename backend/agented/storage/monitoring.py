"""Monitoring figures as SQL aggregates over the executions, and the history's snapshots.

Every figure is counted by the database in one aggregate query on the reader thread,
never by Python over rows; time ranges use the indexes of migration 10. What
counts as what is decided here once, in SQL, and for any status, present or
added later: a run has *ended* once it has `finished_at`; an ended run is a
*failure* unless it succeeded or was cancelled (an operator's cancel says
nothing about the bot), so a status such as `budget_exceeded` counts without a
change here; and its *tokens* are the input and output tokens its CLI
reported (cache reads are left out: Claude reports them apart, Codex inside
its input, so adding them would count twice).

The history is kept as one snapshot row per 5-minute slot of what ended in it,
so it outlives the executions that retention deletes. A snapshot recomputes
the slots from just before the previous one up to now, so a run whose end was
committed a moment after the previous snapshot read is counted all the same;
slots not yet snapshotted are read live from the executions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..models import RATE_LIMITED_PREFIX, Execution, iso, iso_from_unix
from .database import Connection, Database, Row
from .dialect import Dialect
from .executions import usage_cost, usage_tokens
from .rows import RowMapping, placeholders

SLOT_SECONDS = 300

# A rate-limited run ends `failed` with its error message starting so (no % or _ in it).
_RATE_LIMITED = f"(COALESCE(error_message, '') LIKE '{RATE_LIMITED_PREFIX}%')"
_ENDED = "finished_at IS NOT NULL"
_FAILED = f"({_ENDED} AND status NOT IN ('success', 'cancelled'))"


def _total(expression: str, condition: str = "TRUE") -> str:
    """The sum of `expression` over the rows meeting `condition`, as a float, 0.0 for none."""
    return f"CAST(COALESCE(SUM({expression}) FILTER (WHERE {condition}), 0) AS DOUBLE PRECISION)"


@dataclass(frozen=True, slots=True)
class _Figures:
    """The SQL of the figures that reads the usage JSON and times, in one engine's spelling."""

    tokens: str
    cost: str
    # What ended in each slot of [?, ?) (ISO times), as snapshot columns.
    slots_of_ended: str

    @classmethod
    def of(cls, dialect: Dialect) -> _Figures:
        tokens, cost = usage_tokens(dialect), usage_cost(dialect)
        slot = f"({dialect.unix_seconds('finished_at')} / {SLOT_SECONDS} * {SLOT_SECONDS})"
        slots_of_ended = (
            f"SELECT {slot} AS slot, COUNT(*) AS runs,"
            f" COUNT(*) FILTER (WHERE {_FAILED}) AS failures,"
            f" COUNT(*) FILTER (WHERE {_RATE_LIMITED}) AS rate_limits,"
            f" COALESCE(SUM({tokens}), 0) AS tokens, {_total(cost)} AS cost_usd"
            " FROM executions WHERE finished_at >= ? AND finished_at < ? GROUP BY slot"
        )
        return cls(tokens, cost, slots_of_ended)

    def usage_columns(self, suffix: str, condition: str) -> str:
        """The Usage of the rows meeting `condition`, as columns named with `suffix`."""
        return (
            f"COUNT(*) FILTER (WHERE {condition}) AS runs_{suffix},"
            f" COALESCE(SUM({self.tokens}) FILTER (WHERE {condition}), 0) AS tokens_{suffix},"
            f" {_total(self.cost, condition)} AS cost_{suffix},"
            f" COUNT(*) FILTER (WHERE {condition} AND {_RATE_LIMITED}) AS rate_limits_{suffix}"
        )


_EXECUTIONS = RowMapping(Execution)


@dataclass(frozen=True, slots=True)
class Usage:
    """What a set of runs amounted to."""

    runs: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    rate_limits: int = 0


@dataclass(frozen=True, slots=True)
class AccountUsage:
    """An account's runs since the start of the day and of the month."""

    today: Usage
    month: Usage


@dataclass(frozen=True, slots=True)
class Outcomes:
    """A bot's runs over a window: all of them, the ended ones judged, and the successes."""

    runs: int
    judged: int
    succeeded: int


@dataclass(frozen=True, slots=True)
class BotActivity:
    bot_id: str
    bot_name: str
    day: Outcomes
    week: Outcomes


@dataclass(frozen=True, slots=True)
class Bucket:
    """What ended in one bucket of the history, from its start (Unix time)."""

    start: int
    runs: int
    failures: int
    rate_limits: int
    tokens: int
    cost_usd: float


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _slot_of(moment: datetime) -> int:
    return _epoch(moment) // SLOT_SECONDS * SLOT_SECONDS


def _usage(row: Row, suffix: str) -> Usage:
    return Usage(
        runs=row[f"runs_{suffix}"],
        tokens=row[f"tokens_{suffix}"],
        cost_usd=row[f"cost_{suffix}"],
        rate_limits=row[f"rate_limits_{suffix}"],
    )


def _outcome_columns(suffix: str, condition: str) -> str:
    judged = f"{condition} AND {_ENDED} AND status != 'cancelled'"
    return (
        f"COUNT(*) FILTER (WHERE {condition}) AS runs_{suffix},"
        f" COUNT(*) FILTER (WHERE {judged}) AS judged_{suffix},"
        f" COUNT(*) FILTER (WHERE {condition} AND status = 'success') AS succeeded_{suffix}"
    )


def _outcomes(row: Row, suffix: str) -> Outcomes:
    """The bot's outcomes over a window; none when it ran in neither (the outer join's NULLs)."""
    return Outcomes(
        row[f"runs_{suffix}"] or 0, row[f"judged_{suffix}"] or 0, row[f"succeeded_{suffix}"] or 0
    )


class MonitoringStore:
    def __init__(self, database: Database) -> None:
        self._db = database
        self._figures = _Figures.of(database.dialect)

    async def status_counts(self) -> dict[str, int]:
        """How many executions are stored in each status (read off the status index)."""

        def query(connection: Connection) -> dict[str, int]:
            rows = connection.execute(
                "SELECT status, COUNT(*) FROM executions GROUP BY status"
            ).fetchall()
            return {status: count for status, count in rows}

        return await self._db.read(query)

    async def in_statuses(self, statuses: tuple[str, ...], limit: int) -> list[Execution]:
        """The oldest `limit` executions in `statuses`, oldest first."""

        def query(connection: Connection) -> list[Execution]:
            rows = connection.execute(
                f"SELECT * FROM executions WHERE status IN ({placeholders(len(statuses))})"
                " ORDER BY seq LIMIT ?",
                (*statuses, limit),
            ).fetchall()
            return [_EXECUTIONS.from_row(row) for row in rows]

        return await self._db.read(query)

    async def account_usage(self, day: datetime, month: datetime) -> dict[str, AccountUsage]:
        """Per account id: its runs created since `day` and since `month` (`day` is later)."""
        sql = (
            "SELECT account_id,"
            f" {self._figures.usage_columns('today', 'created_at >= :day')},"
            f" {self._figures.usage_columns('month', 'TRUE')}"
            " FROM executions WHERE created_at >= :month AND account_id IS NOT NULL"
            " GROUP BY account_id"
        )
        parameters = {"day": iso(day), "month": iso(month)}

        def query(connection: Connection) -> dict[str, AccountUsage]:
            return {
                row["account_id"]: AccountUsage(_usage(row, "today"), _usage(row, "month"))
                for row in connection.execute(sql, parameters)
            }

        return await self._db.read(query)

    async def bot_activity(self, day: datetime, week: datetime) -> list[BotActivity]:
        """Every bot, by name, with its runs created since `day` and since `week`."""
        # The week's runs are found by creation time (its index), then joined to every bot.
        sql = (
            "SELECT b.id AS bot_id, b.name AS bot_name, w.* FROM bots AS b LEFT JOIN ("
            f"SELECT bot_id AS run_bot_id, {_outcome_columns('day', 'created_at >= :day')},"
            f" {_outcome_columns('week', 'TRUE')}"
            " FROM executions WHERE created_at >= :week AND bot_id IS NOT NULL GROUP BY bot_id"
            ") AS w ON w.run_bot_id = b.id ORDER BY b.name_key"
        )
        parameters = {"day": iso(day), "week": iso(week)}

        def query(connection: Connection) -> list[BotActivity]:
            return [
                BotActivity(
                    row["bot_id"], row["bot_name"], _outcomes(row, "day"), _outcomes(row, "week")
                )
                for row in connection.execute(sql, parameters)
            ]

        return await self._db.read(query)

    async def snapshot(self, now: datetime, backfill_from: datetime) -> int:
        """Recompute the slots since just before the previous snapshot (on the first one,
        since `backfill_from`) up to `now`; return how many slots hold runs."""

        def write(connection: Connection) -> int:
            first = _recompute_from(connection, backfill_from)
            connection.execute("DELETE FROM monitoring_snapshots WHERE slot >= ?", (first,))
            return connection.execute(
                "INSERT INTO monitoring_snapshots"
                " (slot, runs, failures, rate_limits, tokens, cost_usd, taken_at)"
                " SELECT slot, runs, failures, rate_limits, tokens, cost_usd, CAST(? AS TEXT)"
                f" FROM ({self._figures.slots_of_ended}) AS ended",
                (iso(now), iso_from_unix(first), iso(now)),
            ).rowcount

        return await self._db.write(write)

    async def history(
        self, since: datetime, now: datetime, bucket_seconds: int, backfill_from: datetime
    ) -> list[Bucket]:
        """What ended from `since` to `now`, summed per bucket of `bucket_seconds` (aligned to
        the Unix epoch, so days start at 00:00 UTC); buckets without runs are left out."""
        start = _epoch(since)

        def query(connection: Connection) -> list[Bucket]:
            live_from = max(_recompute_from(connection, backfill_from), start)
            rows = connection.execute(
                "WITH slots AS ("
                "SELECT slot, runs, failures, rate_limits, tokens, cost_usd"
                " FROM monitoring_snapshots WHERE slot >= ? AND slot < ?"
                f" UNION ALL {self._figures.slots_of_ended})"
                " SELECT slot / ? * ? AS start, SUM(runs), SUM(failures),"
                f" SUM(rate_limits), SUM(tokens), {_total('cost_usd')}"
                " FROM slots GROUP BY start ORDER BY start",
                (
                    start // SLOT_SECONDS * SLOT_SECONDS,
                    live_from,
                    iso_from_unix(live_from),
                    iso(now),
                    bucket_seconds,
                    bucket_seconds,
                ),
            ).fetchall()
            return [Bucket(*row) for row in rows]

        return await self._db.read(query)

    async def prune_snapshots(self, before: datetime) -> int:
        """Delete the snapshots of slots that started before `before`."""
        return await self._db.write(
            lambda connection: (
                connection.execute(
                    "DELETE FROM monitoring_snapshots WHERE slot < ?", (_epoch(before),)
                ).rowcount
            )
        )


def _recompute_from(connection: Connection, backfill_from: datetime) -> int:
    """The first slot the next snapshot computes: the one before the previous snapshot's
    last, or the slot of `backfill_from` when there is none yet."""
    taken: Any = connection.execute("SELECT MAX(taken_at) FROM monitoring_snapshots").fetchone()[0]
    if taken is None:
        return _slot_of(backfill_from)
    return _slot_of(datetime.fromisoformat(taken)) - SLOT_SECONDS
