"""What the person who started the server sees on its console, and what log collectors get.

At the default level the console carries errors and state changes, not traffic:
Hypercorn's access log would otherwise print a line for every health check,
dashboard file and the dashboard's own polling (hundreds of lines an hour from
one open tab), and the sign-in link printed at startup would scroll away within
a minute. So successful reads (GET and HEAD answered below 400) are counted and
summed up every SUMMARY_SECONDS instead of logged one by one (LOG_LEVEL=DEBUG
logs each); everything that changes state or fails is still logged. The sign-in
notice is printed after Hypercorn's "Running on" lines, so it is the last thing
at startup. With LOG_FORMAT=json every log line, Hypercorn's included, is one
JSON object, and the notice leaves the key out: collectors must not store it.

Hypercorn creates its loggers lazily, replacing their handlers, the first time
it logs from the worker; the worker's Hypercorn config is therefore asked for
its loggers here first, so that the formatters set on them stay.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import Callable, Iterator, Mapping

from pythonjsonlogger.json import JsonFormatter

from .hypercorn_worker import hypercorn_config
from .log import JSON_FIELDS, RENAMED

logger = logging.getLogger(__name__)

ACCESS_LOGGER = "hypercorn.access"
ERROR_LOGGER = "hypercorn.error"
QUIET_METHODS = frozenset({"GET", "HEAD"})
SUMMARY_SECONDS = 600.0


def json_formatter() -> logging.Formatter:
    """One JSON object per line: time, level, logger and message."""
    return JsonFormatter(JSON_FIELDS, rename_fields=RENAMED)


class QuietReads(logging.Filter):
    """Drops successful reads from the access log, and logs how many it dropped now and then."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        summary_seconds: float = SUMMARY_SECONDS,
    ) -> None:
        super().__init__()
        self._clock = clock
        self._interval = summary_seconds
        self._since = clock()
        self._quiet = 0

    def filter(self, record: logging.LogRecord) -> bool:
        atoms = record.args
        if not isinstance(atoms, Mapping) or logging.getLogger("agented").isEnabledFor(
            logging.DEBUG
        ):
            return True
        status = str(atoms.get("s", ""))
        if atoms.get("m") not in QUIET_METHODS or not status.isascii() or not status.isdigit():
            return True
        if int(status) >= 400:
            return True
        self._quiet += 1
        now = self._clock()
        if now - self._since >= self._interval:
            logger.info(
                "served %d successful read requests in the last %d minutes without logging "
                "each (LOG_LEVEL=DEBUG logs every request)",
                self._quiet,
                round((now - self._since) / 60),
            )
            self._quiet = 0
            self._since = now
        return False


class SignInNotice(logging.Filter):
    """Prints the sign-in notice right after the last of Hypercorn's "Running on" lines."""

    def __init__(self, notice: str, running_lines: int) -> None:
        super().__init__()
        self._notice: str | None = notice
        self._left = running_lines

    def filter(self, record: logging.LogRecord) -> bool:
        if self._notice is not None and record.getMessage().startswith("Running on "):
            self._left -= 1
            if self._left <= 0:
                notice, self._notice = self._notice, None
                # A filter runs before the record is written: print once it has been.
                asyncio.get_running_loop().call_soon(show, notice)
        return True


def show(notice: str) -> None:
    print(notice, file=sys.stderr, flush=True)


@contextlib.contextmanager
def console(notice: str | None, running_lines: int | None, log_format: str) -> Iterator[None]:
    """Quiet the access log, place the sign-in notice, and apply the log format, while serving.

    `running_lines` is how many "Running on" lines Hypercorn will print (one per
    bound socket), or None outside a Hypercorn worker, where the notice is shown
    at once. Everything is undone on exit, so apps started one after another in
    one process (tests) do not stack filters.
    """
    config = hypercorn_config()
    if config is not None:
        _ = config.log  # create Hypercorn's loggers now, so what is set on them stays
    access, error = logging.getLogger(ACCESS_LOGGER), logging.getLogger(ERROR_LOGGER)
    added: list[tuple[logging.Logger, logging.Filter]] = [(access, QuietReads())]
    if notice is not None:
        if running_lines:
            added.append((error, SignInNotice(notice, running_lines)))
        else:
            show(notice)
    if log_format == "json":
        for handler in (*access.handlers, *error.handlers):
            handler.setFormatter(json_formatter())
    for target, added_filter in added:
        target.addFilter(added_filter)
    try:
        yield
    finally:
        for target, added_filter in added:
            target.removeFilter(added_filter)
