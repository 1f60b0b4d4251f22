"""The client's exit codes, one per outcome, so that a CI step or a script can tell them apart.

A followed run exits with its outcome (0 only for `success`); every error the
client meets has a code of its own. 2 is argparse's code for a bad command line.
"""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    SUCCESS = 0
    RUN_FAILED = 1
    USAGE = 2
    RUN_TIMEOUT = 3
    RUN_CANCELLED = 4
    RUN_INTERRUPTED = 5
    CONFIG = 6
    UNREACHABLE = 7
    UNAUTHORIZED = 8
    NOT_FOUND = 9
    CONFLICT = 10
    RATE_LIMITED = 11
    HTTP_ERROR = 12


# A finished execution's status -> the exit code of a client that followed it.
RUN_OUTCOMES = {
    "success": Exit.SUCCESS,
    "failed": Exit.RUN_FAILED,
    "timeout": Exit.RUN_TIMEOUT,
    "cancelled": Exit.RUN_CANCELLED,
    "interrupted": Exit.RUN_INTERRUPTED,
}


def run_exit(status: str) -> Exit:
    """Any status the server adds later counts as a failure, never as success."""
    return RUN_OUTCOMES.get(status, Exit.RUN_FAILED)


class CliError(Exception):
    """An error to report in one line and exit with `code`."""

    def __init__(self, message: str, code: Exit) -> None:
        super().__init__(message)
        self.code = code
