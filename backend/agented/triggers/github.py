"""GitHub pull-request webhooks: verified, deduplicated, filtered by repository.

The secret comes from GITHUB_WEBHOOK_SECRET at request time, so rotating it
needs no restart; without one, every delivery is refused.

X-Hub-Signature-256 covers the body only, so X-GitHub-Delivery is not
authenticated: a captured delivery resent with a fresh id would still verify.
A delivery is therefore a repeat if its delivery id *or* its body hash was seen
within the window (GitHub's own redeliveries repeat both, and two genuine
events never share a body: each carries its own timestamps and ids). GitHub
always sends the id, so a signed delivery without one is refused outright.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..config import GITHUB_SECRET_VARIABLE
from ..executions.service import ExecutionService, RunRefused
from ..models import Bot
from ..storage.bots import BotStore
from ..storage.deliveries import DeliveryStore
from ..storage.pr_reviews import PullRequestReviewStore
from .signatures import verify_hex_signature

logger = logging.getLogger(__name__)

FIRING_ACTIONS = frozenset({"opened", "synchronize", "reopened", "ready_for_review"})


class GitHubRejected(Exception):
    """The delivery is refused; `status` is the HTTP status that says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class GitHubOutcome:
    status: int
    body: dict[str, Any] = field(default_factory=dict)


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
        raise GitHubRejected(400, f"malformed pull_request payload: {path} is missing or invalid")
    return value


def parse_pull_request(payload: dict[str, Any]) -> PullRequest:
    """The fields Agented uses, or GitHubRejected(400) naming the first one missing."""
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
        *,
        dedup_window_seconds: float,
    ) -> None:
        self._bots = bots
        self._deliveries = deliveries
        self._reviews = reviews
        self._runs = runs
        self._window = dedup_window_seconds

    async def receive(self, body: bytes, headers: Mapping[str, str]) -> GitHubOutcome:
        secret = os.environ.get(GITHUB_SECRET_VARIABLE, "")
        if not secret:
            raise GitHubRejected(401, "GitHub webhooks are not configured (GITHUB_WEBHOOK_SECRET)")
        if not verify_hex_signature(secret, body, headers.get("X-Hub-Signature-256")):
            raise GitHubRejected(401, "invalid or missing X-Hub-Signature-256")
        delivery = headers.get("X-GitHub-Delivery", "").strip()
        if not delivery:
            raise GitHubRejected(
                400, "X-GitHub-Delivery is required: without it a replay cannot be told apart"
            )
        event = headers.get("X-GitHub-Event", "")
        if event == "ping":
            return GitHubOutcome(200, {"message": "pong"})
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: nested too deeply
            raise GitHubRejected(400, "the body is not valid JSON") from None
        if not isinstance(payload, dict):
            raise GitHubRejected(400, "the body must be a JSON object")
        if event != "pull_request":
            return GitHubOutcome(200, {"message": "ignored", "reason": f"event {event!r}"})
        pull = parse_pull_request(payload)
        if pull.action not in FIRING_ACTIONS:
            return GitHubOutcome(200, {"message": "ignored", "reason": f"action {pull.action!r}"})
        keys = (f"github:id:{delivery[:200]}", f"github:sha256:{hashlib.sha256(body).hexdigest()}")
        if not await self._deliveries.claim(keys, time.time(), self._window):
            return GitHubOutcome(200, {"message": "ignored", "reason": "duplicate delivery"})
        execution_ids: list[str] = []
        skipped: list[dict[str, str]] = []
        for bot in await self._bots.list():
            if not wants(bot, pull):
                continue
            try:
                execution = await self._runs.start(
                    bot, "github", {**pull.context(), "payload": payload}
                )
            except RunRefused as refused:
                skipped.append({"bot_id": bot.id, "trigger_id": bot.id, "reason": str(refused)})
                continue
            execution_ids.append(execution.id)
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
            return GitHubOutcome(200, {"message": "ignored", "reason": reason, "skipped": skipped})
        return GitHubOutcome(202, {"execution_ids": execution_ids, "skipped": skipped})
