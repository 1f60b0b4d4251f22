"""Generic webhooks: match a JSON payload to webhook bots, check signatures, fire, dedupe.

A bot with a webhook secret fires only for a request signed with it (our
`X-Webhook-Signature-256: sha256=<hex>` or Standard Webhooks). A delivery is
recorded only once some bot accepted it, so a forged request cannot burn the
delivery id of a genuine one; a repeated delivery within the window fires nothing.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..executions.service import ExecutionService, RunRefused
from ..executions.templates import resolve
from ..models import Bot
from ..secret_box import SecretBox
from ..storage.bots import BotRepository
from ..storage.deliveries import DeliveryRepository
from .signatures import verify_any

logger = logging.getLogger(__name__)

DELIVERY_ID_HEADERS = ("webhook-id", "X-Webhook-Id", "X-Delivery-Id", "X-Request-Id")
DEFAULT_TEXT_FIELD = "text"


@dataclass
class Outcome:
    execution_ids: list[str] = field(default_factory=list)
    duplicate: bool = False
    signature_failed: bool = False
    skipped: list[dict[str, str]] = field(default_factory=list)


def delivery_key(source: str, headers: Mapping[str, str], body: bytes) -> str:
    """The sender's delivery id when it gives one, else a hash of the body."""
    for name in DELIVERY_ID_HEADERS:
        if value := headers.get(name, "").strip():
            return f"{source}:id:{value[:200]}"
    return f"{source}:sha256:{hashlib.sha256(body).hexdigest()}"


def as_text(value: Any) -> str:
    return "" if value is None else value if isinstance(value, str) else str(value)


class WebhookService:
    def __init__(
        self,
        bots: BotRepository,
        deliveries: DeliveryRepository,
        runs: ExecutionService,
        box: SecretBox,
        *,
        dedup_window_seconds: float,
    ) -> None:
        self._bots = bots
        self._deliveries = deliveries
        self._runs = runs
        self._box = box
        self._window = dedup_window_seconds

    async def receive(
        self,
        payload: dict[str, Any],
        body: bytes,
        headers: Mapping[str, str],
        *,
        only: Bot | None = None,
    ) -> Outcome:
        """Fire every enabled webhook bot (or just `only`) that this delivery is for."""
        outcome = Outcome()
        candidates = [only] if only else await self._bots.list()
        now = time.time()
        chosen: list[tuple[Bot, str]] = []
        for bot in candidates:
            if not (bot.enabled and bot.trigger_source == "webhook"):
                continue
            if bot.webhook_secret_sealed and not verify_any(
                self._box.open(bot.webhook_secret_sealed), body, headers, now
            ):
                outcome.signature_failed = True
                logger.info("webhook for bot %s: signature missing or wrong", bot.id)
                continue
            message = self._match(bot, payload)
            if message is not None:
                chosen.append((bot, message))
        if not chosen:
            return outcome
        source = f"bot:{only.id}" if only else "webhook"
        if not await self._deliveries.claim(delivery_key(source, headers, body), now, self._window):
            outcome.duplicate = True
            return outcome
        for bot, message in chosen:
            try:
                execution = await self._runs.start(
                    bot, "webhook", {"message": message, "payload": payload}
                )
            except RunRefused as refused:
                outcome.skipped.append({"trigger_id": bot.id, "reason": str(refused)})
                continue
            outcome.execution_ids.append(execution.id)
        return outcome

    @staticmethod
    def _match(bot: Bot, payload: dict[str, Any]) -> str | None:
        """The `{message}` for this bot, or None if the payload is not for it."""
        if bot.match_field_path:
            actual = resolve(payload, bot.match_field_path)
            if actual is None or as_text(actual) != (bot.match_field_value or ""):
                return None
        message = as_text(resolve(payload, bot.text_field_path or DEFAULT_TEXT_FIELD))
        keyword = bot.detection_keyword
        if keyword and keyword.casefold() not in message.casefold():
            return None
        return message
