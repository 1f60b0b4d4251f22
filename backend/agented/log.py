"""Logging set up once per process, with the current request's id on every line.

Procrastinate (the job queue of runs on workers) logs through the same handler, so its
warnings and errors read like ours (text or JSON), never with a job's arguments.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

from .config import log_level_number

request_id_var: ContextVar[str] = ContextVar("agented_request_id", default="-")

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [rid=%(request_id)s] %(message)s"
# LOG_FORMAT=json: these fields of each record, the level and logger under shorter names.
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"
RENAMED = {"levelname": "level", "name": "logger"}
# Procrastinate's logger, and the least level of its records shown: its INFO lines (a few per
# job) repeat what Agented logs of each run; LOG_LEVEL=DEBUG shows everything.
QUEUE_LOGGER = "procrastinate"
QUEUE_LEAST_LEVEL = logging.WARNING


class RequestIdFilter(logging.Filter):
    """Stamp each record with the id of the request being served (or `-` outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class QueueJobFilter(logging.Filter):
    """Procrastinate names a job by its call, arguments and all (`agented.run[7](argv=[…])`)
    in its messages and in the `job`/`jobs` it adds to a record: a run's arguments are its
    prompt and command, which the log must not hold. Here a job is named by its task and id."""

    def filter(self, record: logging.LogRecord) -> bool:
        single = record.__dict__.get("job")
        jobs = [single] if isinstance(single, dict) else record.__dict__.get("jobs") or []
        for job in jobs:
            if not isinstance(job, dict):
                continue
            call = job.pop("call_string", None)
            job.pop("task_kwargs", None)
            if isinstance(call, str) and isinstance(record.msg, str):
                record.msg = record.msg.replace(call, f"{job.get('task_name')}[{job.get('id')}]")
        return True


def build_handler(stream: object = None, log_format: str = "text") -> logging.Handler:
    """A handler whose lines carry the request id; used by the server and by tests alike."""
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.addFilter(RequestIdFilter())
    if log_format == "json":
        handler.setFormatter(JsonFormatter(f"{JSON_FIELDS} %(request_id)s", rename_fields=RENAMED))
    else:
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
    return handler


def configure_logging(level: str, log_format: str = "text", stream: object = None) -> None:
    """Send the `agented` loggers to `stream` (stderr) at `level`, and Procrastinate's at
    `level` or WARNING, whichever is higher (everything at DEBUG); safe to call more than once."""
    number = log_level_number(level)
    queue_level = number if number <= logging.DEBUG else max(number, QUEUE_LEAST_LEVEL)
    _route("agented", number, build_handler(stream, log_format))
    queue_handler = build_handler(stream, log_format)
    queue_handler.addFilter(QueueJobFilter())
    _route(QUEUE_LOGGER, queue_level, queue_handler)


def _route(name: str, level: int, handler: logging.Handler) -> None:
    """Logger `name` (and those under it) to `handler` alone, from `level` on."""
    logger = logging.getLogger(name)
    for previous in list(logger.handlers):
        logger.removeHandler(previous)
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
