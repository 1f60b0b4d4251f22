"""Search over an execution's whole stored log, for viewers that hold only a screenful of it.

A million-line log never reaches the browser, so the browser cannot search it.
A search scans the stored lines once and keeps the seqs of the lines that match;
the count, next/previous and the "only matching lines" view are then lookups in
that list (a window of it by index, or from a seq on). The list of a running
execution grows: asking again scans only the lines stored since.

Plain text is compared by SQLite (`instr`), the fast path. A regular expression
is matched with the `regex` module on the database's reader thread, never on the
event loop, and every match call carries a timeout: a catastrophic pattern
(`(a+)+$` on a long line) ends as a 400 after `time_limit` seconds instead of
holding the reader thread. The scan goes in slices of `slice_rows` lines, each
its own read, so other requests' reads interleave with a long search and the
deadline is checked between slices. Memory is bounded too: the cache keeps the
most recently used lists while they hold at most `max_cached_seqs` seqs in all.

Counting every match of a new text means reading every stored line. So that a
viewer need not wait for that to jump to a match, `first_from` answers the
first match at or after a line (else the first of the log) on its own: its scan
stops at the match, starts from what the cache already knows, and goes first —
a count waits between its slices while one runs.
"""

from __future__ import annotations

import asyncio
import time
from array import array
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import regex

from ..errors import SearchInvalid
from ..storage.executions import ExecutionStore


@dataclass(frozen=True, slots=True)
class SearchTerms:
    """What to look for: `text` as it is, or as a regular expression."""

    text: str
    regex: bool = False
    case_sensitive: bool = False


@dataclass(frozen=True, slots=True)
class SearchWindow:
    """`seqs` are the matches numbered `offset`, `offset + 1`, … of `total` in all."""

    total: int
    offset: int
    seqs: list[int]
    searched_to: int  # the last seq the search covered


@dataclass(frozen=True, slots=True)
class FirstMatch:
    """The first match at or after a line; if none, the first of the log (`wrapped`)."""

    seq: int | None
    wrapped: bool


@dataclass(slots=True)
class _Matches:
    seqs: array[int]
    scanned_to: int


def compile_terms(terms: SearchTerms, time_limit: float) -> Callable[[str], bool] | None:
    """A predicate matching a regular expression (None for plain text); SearchInvalid if invalid."""
    if not terms.regex:
        return None
    flags = 0 if terms.case_sensitive else regex.IGNORECASE  # the syntax of Python's `re`
    try:
        pattern = regex.compile(terms.text, flags)
    except regex.error as error:
        raise SearchInvalid(f"q: not a valid regular expression: {error}") from error
    deadline = time.monotonic() + time_limit

    def matches(content: str) -> bool:
        # The timeout of one call is what is left of the whole search's time; `concurrent`
        # lets go of the GIL while matching, so the event loop runs on meanwhile.
        left = max(deadline - time.monotonic(), 0.001)
        return pattern.search(content, timeout=left, concurrent=True) is not None

    return matches


class LogSearch:
    def __init__(
        self,
        store: ExecutionStore,
        *,
        time_limit: float = 10.0,
        slice_rows: int = 25_000,
        max_cached_seqs: int = 4_000_000,
    ) -> None:
        self._store = store
        self._time_limit = time_limit
        self._slice_rows = slice_rows
        self._max_cached_seqs = max_cached_seqs
        self._cache: OrderedDict[tuple[str, SearchTerms], _Matches] = OrderedDict()
        # One scan at a time: two viewers typing at once must not double the CPU spent.
        self._lock = asyncio.Lock()
        # Set while no `first_from` runs: counting waits for it between its slices.
        self._no_first_scan = asyncio.Event()
        self._no_first_scan.set()
        self._first_scans = 0

    async def search(
        self,
        execution_id: str,
        terms: SearchTerms,
        until_seq: int,
        *,
        offset: int = 0,
        at_seq: int | None = None,
        limit: int = 1000,
    ) -> SearchWindow:
        """The window of matches among the lines up to `until_seq`: from the first match at or
        after `at_seq` if given, else from the `offset`-th match."""
        async with self._lock:
            matches = await self._matches(execution_id, terms, until_seq)
        seqs = matches.seqs
        if at_seq is not None:
            offset = bisect_left(seqs, at_seq)
        return SearchWindow(
            total=len(seqs),
            offset=offset,
            seqs=seqs[offset : offset + limit].tolist(),
            searched_to=matches.scanned_to,
        )

    async def first_from(
        self, execution_id: str, terms: SearchTerms, from_seq: int, until_seq: int
    ) -> FirstMatch:
        """The first match among lines `from_seq`…`until_seq`, else the first before them."""
        keep = compile_terms(terms, self._time_limit)
        deadline = time.monotonic() + self._time_limit
        self._first_scans += 1
        self._no_first_scan.clear()
        try:
            after = max(from_seq, 1) - 1
            seq = await self._first_in(execution_id, terms, keep, after, until_seq, deadline)
            if seq is not None:
                return FirstMatch(seq, wrapped=False)
            seq = await self._first_in(
                execution_id, terms, keep, 0, min(after, until_seq), deadline
            )
            return FirstMatch(seq, wrapped=seq is not None)
        finally:
            self._first_scans -= 1
            if not self._first_scans:
                self._no_first_scan.set()

    async def _first_in(
        self,
        execution_id: str,
        terms: SearchTerms,
        keep: Callable[[str], bool] | None,
        after_seq: int,
        until_seq: int,
        deadline: float,
    ) -> int | None:
        """The first match in (`after_seq`, `until_seq`]: from the cache as far as it knows."""
        known = self._cache.get((execution_id, terms))
        if known is not None:
            index = bisect_right(known.seqs, after_seq)
            if index < len(known.seqs):
                return known.seqs[index] if known.seqs[index] <= until_seq else None
            after_seq = max(after_seq, known.scanned_to)
        while after_seq < until_seq:
            if time.monotonic() > deadline:
                raise self._too_slow(after_seq)
            end = min(after_seq + self._slice_rows, until_seq)
            found = await self._scan(execution_id, terms, keep, after_seq, end, first_only=True)
            if found:
                return found[0]
            after_seq = end
        return None

    async def _scan(
        self,
        execution_id: str,
        terms: SearchTerms,
        keep: Callable[[str], bool] | None,
        after_seq: int,
        until_seq: int,
        *,
        first_only: bool = False,
    ) -> list[int]:
        """The matches in (`after_seq`, `until_seq`]: compared by SQLite, or by `keep`."""
        if keep is None:
            return await self._store.seqs_containing(
                execution_id,
                after_seq,
                until_seq,
                terms.text,
                case_sensitive=terms.case_sensitive,
                first_only=first_only,
            )
        return await self._store.seqs_where(
            execution_id, after_seq, until_seq, keep, first_only=first_only
        )

    def _too_slow(self, searched_to: int) -> SearchInvalid:
        return SearchInvalid(
            f"q: the search took longer than {self._time_limit:g} s (searched up to line "
            f"{searched_to}); make the expression more specific"
        )

    async def _matches(self, execution_id: str, terms: SearchTerms, until_seq: int) -> _Matches:
        key = (execution_id, terms)
        matches = self._cache.pop(key, None) or _Matches(array("q"), 0)
        self._cache[key] = matches  # now the most recently used
        keep = compile_terms(terms, self._time_limit)
        deadline = time.monotonic() + self._time_limit
        try:
            while matches.scanned_to < until_seq:
                if not self._no_first_scan.is_set():
                    # A viewer waits for its first match: that scan goes first, and the time
                    # spent waiting for it does not count against this one.
                    waited = time.monotonic()
                    await self._no_first_scan.wait()
                    deadline += time.monotonic() - waited
                if time.monotonic() > deadline:
                    raise TimeoutError
                end = min(matches.scanned_to + self._slice_rows, until_seq)
                found = await self._scan(execution_id, terms, keep, matches.scanned_to, end)
                matches.seqs.extend(found)
                matches.scanned_to = end
        except TimeoutError as error:
            # What was scanned stays cached: asking again goes on from there.
            raise self._too_slow(matches.scanned_to) from error
        finally:
            self._evict()
        return matches

    def _evict(self) -> None:
        """Drop the least recently used lists until the rest fit the budget (keep the newest)."""
        held = sum(len(matches.seqs) for matches in self._cache.values())
        while held > self._max_cached_seqs and len(self._cache) > 1:
            _, oldest = self._cache.popitem(last=False)
            held -= len(oldest.seqs)
