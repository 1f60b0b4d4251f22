"""Every refusal the domain can give, named for its reason; no HTTP here.

Services raise these and know nothing of status codes: the HTTP edge
(`api/errors.py`) maps each class to a status and the JSON `{"error": ...}`
body, in one table. `details` carries machine-readable fields the answer adds
beside the message (the field at fault, the execution in the way).
"""

from __future__ import annotations

import sqlite3


class AgentedError(Exception):
    """A request the domain refuses; the message says why, in words a user can act on."""

    def __init__(self, message: str, **details: str) -> None:
        super().__init__(message)
        self.details = details


class NotFound(AgentedError):
    """The record asked for does not exist (or is not of the kind the route serves)."""


class NotServing(AgentedError):
    """The server has not started serving yet, or has begun to stop."""


# Starting a run


class RunRefused(AgentedError):
    """A run cannot start; the subclass names the reason."""


class ShuttingDown(RunRefused):
    """The server is stopping and starts nothing new."""


class BotDisabled(RunRefused):
    """The bot is switched off."""


class BotBusy(RunRefused):
    """The bot runs one execution at a time and has one queued or running (`execution_id`).

    It can neither start another nor be deleted until that one ends.
    """

    def __init__(self, message: str, execution_id: str) -> None:
        super().__init__(message, execution_id=execution_id)
        self.execution_id = execution_id


class InvalidCommand(RunRefused):
    """The bot's backend settings do not make a command line."""


# The state of a record


class ExecutionNotRunning(AgentedError):
    """The execution has already ended, so there is nothing to cancel."""


class ExecutionActive(AgentedError):
    """The execution is still queued or running, so it cannot be run again yet."""


class InputNotKept(AgentedError):
    """The execution ran before Agented kept runs' inputs, so it cannot be run again as it was."""


class RetryNotPending(AgentedError):
    """The retry has already started or been cancelled."""


class SearchInvalid(AgentedError):
    """A log search cannot run: its expression is not valid, or took too long; `q` is at fault."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="q")


# Bots


class BotInvalid(AgentedError):
    """The bot as it would be stored breaks a rule spanning several fields; `field` is at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", field=field)
        self.field = field


class DuplicateBotName(AgentedError):
    """Another bot already has this name (compared ignoring case)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="name")


# Agents and their messages


class DuplicateAgentName(AgentedError):
    """Another agent already has this name (compared ignoring case)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="name")


class MessageInvalid(AgentedError):
    """A message that cannot be sent as asked (to its own sender, say); `field` is at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", field=field)
        self.field = field


# Accounts


class DuplicateAccountName(AgentedError):
    """Another account already has this name (compared ignoring case)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="name")


# Webhook deliveries


class WebhookDisabled(AgentedError):
    """The bot behind a per-bot webhook URL is switched off."""


class SignatureRejected(AgentedError):
    """A delivery's signature is missing or does not verify."""


class SecretNotConfigured(SignatureRejected):
    """No secret is configured to verify this kind of delivery, so none verifies."""


class MalformedDelivery(AgentedError):
    """A delivery lacks something it must carry, or carries it in a form that cannot be read."""


class MalformedHeader(MalformedDelivery):
    """A signature header that cannot be read at all."""


# Storage


class StorageFull(sqlite3.OperationalError, AgentedError):
    """SQLite could not write because the disk (or the database's page limit) is full.

    Still an `sqlite3.OperationalError`, which is what the database layer catches.
    """
