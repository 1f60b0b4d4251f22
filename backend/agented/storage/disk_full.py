"""A full disk as one domain error, one readiness fact and one log line a minute.

When SQLite cannot grow the database (the disk is full, or `max_page_count` is
reached) it answers SQLITE_FULL; PostgreSQL answers SQLSTATE 53100 (disk_full).
Every write would then fail the same way, and the log batcher retries every
250 ms: logging each failure with a traceback floods the very disk that is
full. Instead the failure becomes the domain error `StorageFull` (which the HTTP
edge answers with 503 "disk full"), the database remembers that it is full until
a write succeeds again (readiness reports it), and the log says "disk full" at
most once per minute, with a count of what it left unsaid.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import psycopg
import psycopg.errors

from ..errors import StorageFull

logger = logging.getLogger(__name__)

T = TypeVar("T")

REPORT_INTERVAL_SECONDS = 60.0
# Readiness calls the disk usable again only with at least this much free: a
# disk with a few kilobytes left fails the next checkpoint all the same.
MIN_FREE_BYTES = 1024 * 1024


def is_full(error: BaseException) -> bool:
    """Whether `error` is SQLite's SQLITE_FULL (any extended form of it) or PostgreSQL's
    disk_full."""
    if isinstance(error, StorageFull | psycopg.errors.DiskFull):
        return True
    code = getattr(error, "sqlite_errorcode", None)
    return (
        isinstance(error, sqlite3.Error) and code is not None and code & 0xFF == sqlite3.SQLITE_FULL
    )


class DiskFullState:
    """Whether the database is full, shared by the writer thread and the event loop."""

    def __init__(
        self,
        where: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        report_interval: float = REPORT_INTERVAL_SECONDS,
    ) -> None:
        self._where = where
        self._clock = clock
        self._interval = report_interval
        self._lock = threading.Lock()
        self._full = False
        self._last_report: float | None = None
        self._unreported = 0
        self._reported_since_recovery = False

    @property
    def full(self) -> bool:
        return self._full

    def failed(self, error: Exception) -> StorageFull:
        """Record a write that found the disk full; the error to raise in its place."""
        with self._lock:
            self._full = True
            now = self._clock()
            if self._last_report is not None and now - self._last_report < self._interval:
                self._unreported += 1
            else:
                unreported, self._unreported = self._unreported, 0
                self._last_report = now
                self._reported_since_recovery = True
                logger.error(
                    "disk full: cannot write to the database %s (%s); writes answer 503 and "
                    "log lines wait in memory until space is freed%s",
                    self._where,
                    error,
                    f" ({unreported} more failed writes since the last report)"
                    if unreported
                    else "",
                )
        return StorageFull(f"disk full: {error}")

    def guarded(self, work: Callable[[], T]) -> Callable[[], T]:
        """`work`, with either engine's full-disk error recorded and raised as StorageFull."""

        def guarded_work() -> T:
            try:
                return work()
            except StorageFull:
                raise
            except (sqlite3.Error, psycopg.Error) as error:
                if is_full(error):
                    raise self.failed(error) from error
                raise

        return guarded_work

    def succeeded(self) -> None:
        """Record a committed write: whatever was full has room again."""
        if not self._full:  # the common case costs one attribute read
            return
        with self._lock:
            self._full = False
            if self._reported_since_recovery:
                self._reported_since_recovery = False
                logger.warning(
                    "disk space is back: writes to the database %s succeed again", self._where
                )

    def recheck(self, has_room: Callable[[], None]) -> None:
        """While marked full, call `has_room` (which raises StorageFull while there is none)
        and mark the database usable when it returns.

        Readiness would otherwise stay failed until some write happens to succeed.
        """
        if not self._full:
            return
        has_room()
        self.succeeded()
