"""One live event sequence (an execution's log) shared by all of its viewers.

The producer appends encoded events; viewers hold only a cursor (the last id
they sent) and take everything after it in one piece, so a viewer that fell
behind catches up in a single write and costs nothing while it waits. The
in-memory tail is bounded in bytes, not events (one line may be 256 KiB of
NUL bytes, a 1.5 MB event once JSON-escaped): events leave it once they are
persisted and the tail is over its budget, and a viewer whose cursor fell out
of it reads the database until it is back in the tail. Events not yet
persisted always stay; the log writer bounds how many bytes of those there are.

Wake-ups are coalesced, so that each viewer writes many events at once when the
server is busy: one write costs the same whether it carries one event or twenty
(most of it is the server's per-chunk path). At most one wake-up is pending, and
after each one the topic stays quiet for a window COALESCE_FACTOR times as long
as the wake-up's fan-out took to run (every viewer's write), capped at
MAX_COALESCE and at least MIN_BUSY_WINDOW. A fan-out wakes VIEWERS_PER_SLICE
viewers per loop iteration, so that with thousands of viewers other requests
still get the loop between slices. So a quiet topic or one with few viewers
wakes them at once (a window under MIN_COALESCE is no window), while a topic
whose fan-out takes 35 ms spends under half of the loop's time on it and
delivers several events per write.

A line's latency is at most about one fan-out plus one window (a viewer that
has just written waits that long for its next turn), so the window trades
latency for CPU: past MAX_COALESCE a longer window would only add latency, and
the loop is shared between the slices of a fan-out anyway.
"""

from __future__ import annotations

import asyncio
import time

from .wakeup import Wakeup

# About 10,000 events of 100-byte lines (5,000 to 10,000 are held once persisted):
# tens of milliseconds of a flood, a minute of a chatty CLI, for viewers a little
# behind; one event of escaped NUL bytes.
TAIL_BYTES = 2 * 1024 * 1024
# The coalescing window's bounds (seconds): below MIN_COALESCE viewers are woken at once;
# MAX_COALESCE keeps the delay it adds well inside the 100 ms latency budget. A window at
# all is at least MIN_BUSY_WINDOW: a few milliseconds of latency, but a hundred viewers of
# a CLI printing 1,000 lines/s (3 ms fan-outs) write 8 lines at a time instead of 6.
MIN_COALESCE = 0.001
MIN_BUSY_WINDOW = 0.005
MAX_COALESCE = 0.05
# The window is this many times as long as the fan-out before it, so that fan-outs take
# under half of the loop (1 / (1 + 1.125) = 47 %), the rest of the worker's work included.
COALESCE_FACTOR = 1.125
# Viewers woken per loop iteration: a fan-out to thousands is spread over iterations, so
# other requests are served between its slices (at 35-45 µs a write, 1 ms per slice; a
# request that needs twenty turns of the loop waits 20 ms behind a fan-out).
VIEWERS_PER_SLICE = 25


class Topic:
    def __init__(
        self,
        key: str,
        last_seq: int = 0,
        tail_bytes: int = TAIL_BYTES,
        max_coalesce: float = MAX_COALESCE,
    ) -> None:
        self.key = key
        self.last_seq = last_seq
        self.persisted_seq = last_seq
        self.final: bytes | None = None  # the closing event, once the producer is done
        self.status: bytes = b""  # the latest `status` event; viewers resend it when it changes
        self.status_version = 0
        self._tail: list[bytes] = []  # encoded events, consecutive seqs from _first_seq
        self._first_seq = last_seq + 1
        self._tail_size = 0  # bytes in _tail
        self._tail_bytes = tail_bytes
        self._viewers: set[Wakeup] = set()
        # The last chunk read_after made, for the next viewer at the same cursor: at a
        # fan-out every viewer owes the same events, and they share one chunk.
        self._last_read: tuple[int, int, int, bytes, int] | None = None
        self._waking = False  # a wake-up is scheduled or its fan-out is under way
        self._owed = False  # something happened that viewers have not been woken for
        self._max_coalesce = max_coalesce
        self._woke_at = 0.0  # time.monotonic() of the last wake-up
        self._quiet_until = 0.0  # and before which no wake-up starts

    def append(self, seq: int, payload: bytes) -> None:
        if seq != self.last_seq + 1:
            raise ValueError(f"topic {self.key}: expected event {self.last_seq + 1}, got {seq}")
        self.last_seq = seq
        self._tail.append(payload)
        self._tail_size += len(payload)
        self._wake_viewers()

    def set_status(self, payload: bytes) -> None:
        self.status = payload
        self.status_version += 1
        self._wake_viewers()

    def close(self, final: bytes) -> None:
        self.final = final
        self._wake_viewers()

    @property
    def tail_size(self) -> int:
        """Bytes of encoded events held in memory."""
        return self._tail_size

    def mark_persisted(self, seq: int) -> None:
        """Events up to `seq` are in the database: the tail may let them go.

        Once the tail is over its budget it is cut to half of it (the oldest
        persisted events go), so the cost of trimming is spread thinly over the
        appends rather than paid on every flush, and a persisted tail never holds
        more than its budget.
        """
        self.persisted_seq = max(self.persisted_seq, seq)
        if self._tail_size <= self._tail_bytes:
            return
        tail = self._tail
        keep = self._tail_bytes // 2
        persisted = min(self.persisted_seq - self._first_seq + 1, len(tail))
        size = self._tail_size
        drop = 0
        while drop < persisted and size > keep:
            size -= len(tail[drop])
            drop += 1
        if drop:
            del tail[:drop]
            self._first_seq += drop
            self._tail_size = size

    def forget_persisted(self) -> None:
        """Let every persisted event leave the tail now; viewers behind read the database.

        For a topic whose stored events can change after they were appended (an
        inbox's messages are read or expire): the database then answers for them.
        """
        drop = max(0, min(self.persisted_seq - self._first_seq + 1, len(self._tail)))
        if drop:
            self._tail_size -= sum(len(event) for event in self._tail[:drop])
            del self._tail[:drop]
            self._first_seq += drop

    def skip_stored(self, seq: int) -> bool:
        """Events up to `seq` are in the database already and nobody watches: they stay
        there alone, never encoded, and the tail (all persisted) is let go; a viewer who
        comes reads them from the database. False, with nothing done, while someone watches
        or the tail holds events not yet persisted."""
        if self._viewers or self.persisted_seq != self.last_seq:
            return False
        self._tail.clear()
        self._tail_size = 0
        self._last_read = None
        self.last_seq = self.persisted_seq = seq
        self._first_seq = seq + 1
        return True

    @property
    def has_viewers(self) -> bool:
        return bool(self._viewers)

    def read_after(self, cursor: int, max_bytes: int) -> tuple[bytes, int] | None:
        """Events after `cursor` from the tail; None if they left it.

        At least one event when any is owed, and no more than one event past
        `max_bytes`.
        """
        if cursor >= self.last_seq:
            return b"", cursor
        start = cursor + 1 - self._first_seq
        if start < 0:
            return None
        last = self._last_read
        if last is not None and last[:3] == (cursor, self.last_seq, max_bytes):
            return last[3], last[4]
        tail = self._tail
        end = len(tail)
        size = 0
        index = start
        while index < end and size < max_bytes:
            size += len(tail[index])
            index += 1
        chunk, after = b"".join(tail[start:index]), self._first_seq + index - 1
        self._last_read = (cursor, self.last_seq, max_bytes, chunk, after)
        return chunk, after

    def watch(self, wakeup: Wakeup) -> None:
        self._viewers.add(wakeup)

    def unwatch(self, wakeup: Wakeup) -> None:
        self._viewers.discard(wakeup)

    def _wake_viewers(self) -> None:
        if self._viewers:
            self._owed = True
            if not self._waking:
                self._schedule_wake()

    def _schedule_wake(self) -> None:
        self._waking = True
        loop = asyncio.get_running_loop()
        delay = self._quiet_until - time.monotonic()
        if delay > 0:
            loop.call_later(delay, self._wake_now)
        else:
            loop.call_soon(self._wake_now)

    def _wake_now(self) -> None:
        self._owed = False
        self._woke_at = time.monotonic()  # not loop.time(): uvloop's is cached per iteration
        self._wake_slice(list(self._viewers), 0)

    def _wake_slice(self, viewers: list[Wakeup], start: int) -> None:
        """Wake VIEWERS_PER_SLICE viewers; the next slice goes behind their writes."""
        end = start + VIEWERS_PER_SLICE
        for wakeup in viewers[start:end]:
            wakeup.set()
        loop = asyncio.get_running_loop()
        if end < len(viewers):
            loop.call_soon(self._wake_slice, viewers, end)
        else:  # queued behind the last woken viewer's write: the fan-out is done then
            loop.call_soon(self._fan_out_done)

    def _fan_out_done(self) -> None:
        now = time.monotonic()
        window = (now - self._woke_at) * COALESCE_FACTOR
        if window < MIN_COALESCE:
            self._quiet_until = 0.0
        else:
            self._quiet_until = now + min(max(window, MIN_BUSY_WINDOW), self._max_coalesce)
        self._waking = False
        if self._owed and self._viewers:  # events arrived during the fan-out
            self._schedule_wake()
