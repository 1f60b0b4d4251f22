"""Logging set up once per process, with the current request's id on every line."""

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


class RequestIdFilter(logging.Filter):
    """Stamp each record with the id of the request being served (or `-` outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
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


def configure_logging(level: str, log_format: str = "text") -> None:
    """Send the `agented` loggers to stderr at `level`; safe to call more than once."""
    logger = logging.getLogger("agented")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.addHandler(build_handler(log_format=log_format))
    logger.setLevel(log_level_number(level))
    logger.propagate = False
