"""Logging set up once per process, with the current request's id on every line."""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar

from .config import log_level_number

request_id_var: ContextVar[str] = ContextVar("agented_request_id", default="-")

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [rid=%(request_id)s] %(message)s"


class RequestIdFilter(logging.Filter):
    """Stamp each record with the id of the request being served (or `-` outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def build_handler(stream: object = None) -> logging.Handler:
    """A handler whose lines carry the request id; used by the server and by tests alike."""
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    return handler


def configure_logging(level: str) -> None:
    """Send the `agented` loggers to stderr at `level`; safe to call more than once."""
    logger = logging.getLogger("agented")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.addHandler(build_handler())
    logger.setLevel(log_level_number(level))
    logger.propagate = False
