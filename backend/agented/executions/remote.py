"""What the server and its workers agree on: the run job, the queue, the output channel.

With `AGENTED_EXECUTOR=workers` a run is a Procrastinate job in PostgreSQL: the
server defers it (`dispatch`), a `python -m agented.worker` process claims it
and runs the CLI. The job carries everything the worker needs, its secrets (the
account's variables, and an agent's run's MCP token) sealed with the SecretBox
both share through SECRET_KEY, so the job table never holds them in the clear.
Output travels back as rows of `execution_logs`; with each batch (and at the
run's start and end) the worker NOTIFYs OUTPUT_CHANNEL with the execution and
its highest seq (see
`storage.executions.announcement`), and the server reads what is new.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from procrastinate import App, PsycopgConnector

from ..secret_box import SecretBox
from .mcp_access import McpGrant

RUN_TASK = "agented.run"
# Every worker takes the common queue; one with labels also takes `QUEUE:label` for each.
QUEUE = "agented-runs"
OUTPUT_CHANNEL = "agented_output"
# A worker that missed this many heartbeats is taken for dead: its runs end `interrupted`.
STALLED_HEARTBEATS = 3


def queue_for(label: str | None) -> str:
    """The queue of the runs that need a worker with `label` (None: any worker)."""
    return QUEUE if label is None else f"{QUEUE}:{label}"


def queues_for(labels: Sequence[str]) -> list[str]:
    """The queues a worker with `labels` takes runs from."""
    return [queue_for(None), *(queue_for(label) for label in labels)]


@dataclass(frozen=True, slots=True)
class RunJob:
    """One run as a worker gets it: the CLI's argv, directory and extra environment (the
    account's variables, on top of the worker's own), its time limits, the seq its first
    output line follows (lines the server wrote before, such as notes, come first), and
    for an agent's run its way to the server's `/mcp` (the worker adds the CLI's MCP
    settings, see mcp_access.py); and, for the server, the queue it goes in."""

    execution_id: str
    argv: list[str]
    cwd: str | None
    timeout_seconds: float
    grace_seconds: float
    first_seq: int
    env: Mapping[str, str] = field(default_factory=dict)
    label: str | None = None  # the label its worker needs (which queue it goes in)
    mcp: McpGrant | None = None

    def to_job(self, box: SecretBox) -> dict[str, Any]:
        """The job's arguments (stored as JSON in the job table): the environment and the
        MCP token sealed."""
        return {
            "execution_id": self.execution_id,
            "argv": self.argv,
            "cwd": self.cwd,
            "timeout_seconds": self.timeout_seconds,
            "grace_seconds": self.grace_seconds,
            "first_seq": self.first_seq,
            "sealed_env": box.seal(json.dumps(dict(self.env))) if self.env else None,
            "mcp": _sealed_grant(self.mcp, box),
        }

    @classmethod
    def from_job(cls, arguments: Mapping[str, Any], box: SecretBox) -> RunJob:
        """The job `to_job` made; raises SecretDecryptionError when the keys differ. A job
        queued by a server that sent no MCP grants has none."""
        sealed = arguments["sealed_env"]
        return cls(
            execution_id=arguments["execution_id"],
            argv=list(arguments["argv"]),
            cwd=arguments["cwd"],
            timeout_seconds=arguments["timeout_seconds"],
            grace_seconds=arguments["grace_seconds"],
            first_seq=arguments["first_seq"],
            env=json.loads(box.open(sealed)) if sealed else {},
            mcp=_opened_grant(arguments.get("mcp"), box),
        )


def _sealed_grant(grant: McpGrant | None, box: SecretBox) -> dict[str, str] | None:
    if grant is None:
        return None
    return {
        "backend_type": grant.backend_type,
        "url": grant.url,
        "sealed_token": box.seal(grant.token),
    }


def _opened_grant(sealed: Mapping[str, str] | None, box: SecretBox) -> McpGrant | None:
    if not sealed:
        return None
    return McpGrant(sealed["backend_type"], sealed["url"], box.open(sealed["sealed_token"]))


def job_queue(url: str, connections: int) -> App:
    """A Procrastinate app on the database at `url` (open it with `open_async`)."""
    return App(connector=PsycopgConnector(conninfo=url, min_size=1, max_size=connections))
