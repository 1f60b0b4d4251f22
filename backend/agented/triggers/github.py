"""GitHub pull-request webhooks: verified, deduplicated, filtered by repository.

The secret comes from GITHUB_WEBHOOK_SECRET, read with the other settings when
the app is built (rotating it needs a restart); without one, every delivery is
refused.

X-Hub-Signature-256 covers the body only, so X-GitHub-Delivery is not
authenticated: a captured delivery resent with a fresh id would still verify.
A delivery is therefore a repeat if its delivery id *or* its body hash was seen
within the window (GitHub's own redeliveries repeat both, and two genuine
events never share a body: each carries its own timestamps and ids). GitHub
always sends the id, so a signed delivery without one is refused outright.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import MalformedDelivery, RunRefused, SecretNotConfigured, SignatureRejected
from ..executions.service import ExecutionService
from ..models import Bot
from ..storage.bots import BotStore
from ..storage.deliveries import DeliveryStore
from ..storage.delivery_records import DeliveryRecordStore
from ..storage.pr_reviews import PullRequestReviewStore
from .delivery_notes import DeliveryNotes
from .signatures import verify_hex_signature

logger = logging.getLogger(__name__)

FIRING_ACTIONS = frozenset({"opened", "synchronize", "reopened", "ready_for_review"})


@dataclass(frozen=True)
class GitHubDelivery:
    """A delivery whose signature verified: GitHub's id for it, its event and its body."""

    id: str
    event: str
    body: bytes

    @property
    def carries_payload(self) -> bool:
        """Whether Agented reads the body as JSON: a ping's body is never looked at."""
        return self.event != "ping"


@dataclass
class GitHubOutcome:
    """What a verified delivery did: the runs it started, or why it started none."""

    execution_ids: list[str] = field(default_factory=list)
    # Bots that wanted the pull request but could not run; None when no bot was looked at.
    skipped: list[dict[str, str]] | None = None
    ignored: str | None = None  # why nothing fired
    pong: bool = False  # a ping, answered and otherwise ignored


@dataclass(frozen=True)
class PullRequest:
    action: str
    number: int
    title: str
    url: str
    author: str
    draft: bool
    head_sha: str | None
    repo_full_name: str
    repo_url: str

    def context(self) -> dict[str, Any]:
        return {
            "pr_url": self.url,
            "pr_number": self.number,
            "pr_title": self.title,
            "pr_author": self.author,
            "repo_full_name": self.repo_full_name,
            "repo_url": self.repo_url,
            "message": (
                f'Pull request #{self.number} "{self.title}" by {self.author} in '
                f"{self.repo_full_name} was {self.action.replace('_', ' ')}: {self.url}"
            ),
        }


def _field(data: Any, path: str, kind: type) -> Any:
    value = data
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise MalformedDelivery(f"malformed pull_request payload: {path} is missing or invalid")
    return value


def parse_pull_request(payload: dict[str, Any]) -> PullRequest:
    """The fields Agented uses, or MalformedDelivery naming the first one missing."""
    number = _field(payload, "pull_request.number", int)
    pull = payload["pull_request"]
    head = pull.get("head") if isinstance(pull.get("head"), dict) else {}
    return PullRequest(
        action=_field(payload, "action", str),
        number=number,
        title=_field(payload, "pull_request.title", str),
        url=_field(payload, "pull_request.html_url", str),
        author=_field(payload, "pull_request.user.login", str),
        draft=pull.get("draft") is True,
        head_sha=head.get("sha") if isinstance(head.get("sha"), str) else None,
        repo_full_name=_field(payload, "repository.full_name", str),
        repo_url=_field(payload, "repository.html_url", str),
    )


def wants(bot: Bot, pull: PullRequest) -> bool:
    if not (bot.enabled and bot.trigger_source == "github"):
        return False
    if bot.repositories and pull.repo_full_name.lower() not in {
        repo.lower() for repo in bot.repositories
    }:
        return False
    return bot.include_drafts or not pull.draft


class GitHubService:
    def __init__(
        self,
        bots: BotStore,
        deliveries: DeliveryStore,
        reviews: PullRequestReviewStore,
        runs: ExecutionService,
        records: DeliveryRecordStore,
        *,
        secret: str | None,
        dedup_window_seconds: float,
    ) -> None:
        self._records = records
        self._secret = secret
        self._bots = bots
        self._deliveries = deliveries
        self._reviews = reviews
        self._runs = runs
        self._window = dedup_window_seconds

    def verify(self, body: bytes, headers: Mapping[str, str]) -> GitHubDelivery:
        """The delivery, once its signature verifies and it carries an id.

        Raises SecretNotConfigured, SignatureRejected or MalformedDelivery.
        """
        if not self._secret:
            raise SecretNotConfigured("GitHub webhooks are not configured (GITHUB_WEBHOOK_SECRET)")
        if not verify_hex_signature(self._secret, body, headers.get("X-Hub-Signature-256")):
            raise SignatureRejected("invalid or missing X-Hub-Signature-256")
        delivery = headers.get("X-GitHub-Delivery", "").strip()
        if not delivery:
            raise MalformedDelivery(
                "X-GitHub-Delivery is required: without it a replay cannot be told apart"
            )
        return GitHubDelivery(delivery, headers.get("X-GitHub-Event", ""), body)

    async def receive(self, delivery: GitHubDelivery, payload: dict[str, Any]) -> GitHubOutcome:
        """Fire every GitHub bot that wants this pull request; `payload` is the parsed body.

        What became of the delivery is recorded for each bot it concerned (for
        none when no bot wanted it). Raises MalformedDelivery for a pull_request
        payload without a field Agented uses.
        """
        notes = DeliveryNotes("github", delivery.id[:200], delivery.event[:100] or None)
        outcome = await self._fire(delivery, payload, notes)
        if not notes.entries:
            notes.add(None, "ignored", "ping" if outcome.pong else outcome.ignored)
        await notes.save(self._records)
        return outcome

    async def _fire(
        self, delivery: GitHubDelivery, payload: dict[str, Any], notes: DeliveryNotes
    ) -> GitHubOutcome:
        if not delivery.carries_payload:
            return GitHubOutcome(pong=True)
        if delivery.event != "pull_request":
            return GitHubOutcome(ignored=f"event {delivery.event!r}")
        pull = parse_pull_request(payload)
        if pull.action not in FIRING_ACTIONS:
            return GitHubOutcome(ignored=f"action {pull.action!r}")
        wanting = [bot for bot in await self._bots.list() if wants(bot, pull)]
        body_hash = hashlib.sha256(delivery.body).hexdigest()
        keys = (f"github:id:{delivery.id[:200]}", f"github:sha256:{body_hash}")
        if not await self._deliveries.claim(keys, time.time(), self._window):
            for bot in wanting:
                notes.add(bot.id, "duplicate", "this delivery was received before")
            return GitHubOutcome(ignored="duplicate delivery")
        execution_ids: list[str] = []
        skipped: list[dict[str, str]] = []
        details = {"delivery_id": delivery.id[:200], "event": delivery.event, "pr_url": pull.url}
        for bot in wanting:
            try:
                execution = await self._runs.start(
                    bot, "github", {**pull.context(), "payload": payload}, details=details
                )
            except RunRefused as refused:
                skipped.append({"bot_id": bot.id, "trigger_id": bot.id, "reason": str(refused)})
                notes.add(bot.id, "refused", str(refused))
                continue
            execution_ids.append(execution.id)
            notes.add(bot.id, "accepted", execution_id=execution.id)
            await self._reviews.record(
                {
                    "bot_id": bot.id,
                    "execution_id": execution.id,
                    "repo_full_name": pull.repo_full_name,
                    "pr_number": pull.number,
                    "pr_title": pull.title,
                    "pr_url": pull.url,
                    "pr_author": pull.author,
                    "action": pull.action,
                    "head_sha": pull.head_sha,
                }
            )
        if not execution_ids:
            reason = "no enabled GitHub bot matches this repository" if not skipped else "bots busy"
            return GitHubOutcome(skipped=skipped, ignored=reason)
        return GitHubOutcome(execution_ids, skipped)
