"""Generic webhooks: match a JSON payload to webhook bots, check signatures, fire, dedupe.

A bot with a webhook secret fires only for a request signed with it (our
`X-Webhook-Signature-256: sha256=<hex>` or Standard Webhooks). A delivery is
recorded only once some bot accepted it, so a forged request cannot burn the
delivery id of a genuine one; a repeated delivery within the window fires nothing.

What counts as "repeated" follows what the signature authenticates, because
anyone who captured a signed request can resend it with other unsigned headers:

- body-only HMAC: the body hash *and* the delivery id (when given); either one
  seen before makes a repeat, so a fresh `X-Delivery-Id` does not re-fire it;
- Standard Webhooks: `webhook-id`, which is signed together with the timestamp
  and body, so a replay must carry the same id. The body hash is deliberately
  not a key: distinct messages may have identical bodies, and the spec makes
  the id the idempotency key;
- unsigned: the delivery id, else the body hash (anyone may send anything).

Signed keys are scoped to the bot whose secret verified them (on either URL),
so an unsigned request can never claim them in advance.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import RunRefused
from ..executions.service import ExecutionService
from ..executions.templates import resolve
from ..models import Bot
from ..secret_box import SecretBox
from ..storage.bots import BotStore
from ..storage.deliveries import DeliveryStore
from ..storage.delivery_records import DeliveryRecordStore
from .delivery_notes import DeliveryNotes
from .signatures import Scheme, standard_timestamp, verified_scheme

logger = logging.getLogger(__name__)

DELIVERY_ID_HEADERS = ("webhook-id", "X-Webhook-Id", "X-Delivery-Id", "X-Request-Id")
DEFAULT_TEXT_FIELD = "text"


@dataclass
class Outcome:
    execution_ids: list[str] = field(default_factory=list)
    duplicate: bool = False
    signature_failed: bool = False
    skipped: list[dict[str, str]] = field(default_factory=list)


def delivery_id(headers: Mapping[str, str]) -> str | None:
    """The sender's delivery id, from the first of DELIVERY_ID_HEADERS it gives."""
    for name in DELIVERY_ID_HEADERS:
        if value := headers.get(name, "").strip():
            return value[:200]
    return None


def delivery_key(source: str, headers: Mapping[str, str], body_hash: str) -> str:
    """An unsigned delivery's key: the delivery id when the sender gives one, else the body hash."""
    if (found := delivery_id(headers)) is not None:
        return f"{source}:id:{found}"
    return f"{source}:sha256:{body_hash}"


def dedup_keys(
    source: str, bot: Bot, scheme: Scheme | None, headers: Mapping[str, str], body_hash: str
) -> tuple[str, ...]:
    """The keys that identify this delivery for `bot`, given how it was signed (module doc)."""
    if scheme is None:
        return (delivery_key(source, headers, body_hash),)
    scope = f"signed:{bot.id}"
    if scheme is Scheme.STANDARD:
        return (f"{scope}:webhook-id:{headers['webhook-id'].strip()[:200]}",)
    keys = [f"{scope}:sha256:{body_hash}"]
    if (found := delivery_id(headers)) is not None:
        keys.append(f"{scope}:id:{found}")
    return tuple(keys)


def as_text(value: Any) -> str:
    return "" if value is None else value if isinstance(value, str) else str(value)


class WebhookService:
    def __init__(
        self,
        bots: BotStore,
        deliveries: DeliveryStore,
        runs: ExecutionService,
        box: SecretBox,
        records: DeliveryRecordStore,
        *,
        dedup_window_seconds: float,
    ) -> None:
        self._records = records
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
        """Fire every enabled webhook bot (or just `only`) that this delivery is for.

        What became of it is recorded for each bot it concerned (see
        `storage.delivery_records`). Raises MalformedHeader for an unreadable
        signature header, whichever bots exist.
        """
        standard_timestamp(headers)
        notes = DeliveryNotes("bot" if only else "webhook", delivery_id(headers))
        outcome = await self._fire(payload, body, headers, only, notes)
        if not notes.entries:
            notes.add(None, "ignored", "no webhook bot matched this payload")
        await notes.save(self._records)
        return outcome

    async def _fire(
        self,
        payload: dict[str, Any],
        body: bytes,
        headers: Mapping[str, str],
        only: Bot | None,
        notes: DeliveryNotes,
    ) -> Outcome:
        outcome = Outcome()
        candidates = [only] if only else await self._bots.list()
        source = f"bot:{only.id}" if only else "webhook"
        now = time.time()
        accepted: list[tuple[Bot, str, Scheme | None]] = []
        for bot in candidates:
            if not (bot.enabled and bot.trigger_source == "webhook"):
                continue
            scheme: Scheme | None = None
            if bot.webhook_secret_sealed:
                scheme = verified_scheme(
                    self._box.open(bot.webhook_secret_sealed), body, headers, now
                )
                if scheme is None:
                    outcome.signature_failed = True
                    notes.add(bot.id, "refused", "signature missing or invalid")
                    logger.info("webhook for bot %s: signature missing or wrong", bot.id)
                    continue
            message = self._match(bot, payload)
            if message is not None:
                accepted.append((bot, message, scheme))
            elif only is not None:  # on the generic URL, other bots' payloads are not news
                notes.add(bot.id, "ignored", "the payload does not match the bot's filter")
        if not accepted:
            return outcome
        body_hash = hashlib.sha256(body).hexdigest()
        # Bots sharing the same keys (the unsigned ones) stand or fall together.
        chosen: dict[tuple[str, ...], list[tuple[Bot, str]]] = {}
        for bot, message, scheme in accepted:
            keys = dedup_keys(source, bot, scheme, headers, body_hash)
            chosen.setdefault(keys, []).append((bot, message))
        fresh = await self._deliveries.claim_each(list(chosen), now, self._window)
        details = {"delivery_id": notes.delivery_id, "source": notes.source}
        for is_fresh, bots in zip(fresh, chosen.values(), strict=True):
            if not is_fresh:
                outcome.duplicate = True
                for bot, _ in bots:
                    notes.add(bot.id, "duplicate", "this delivery was received before")
                continue
            for bot, message in bots:
                try:
                    execution = await self._runs.start(
                        bot, "webhook", {"message": message, "payload": payload}, details=details
                    )
                except RunRefused as refused:
                    outcome.skipped.append(
                        {"bot_id": bot.id, "trigger_id": bot.id, "reason": str(refused)}
                    )
                    notes.add(bot.id, "refused", str(refused))
                    continue
                outcome.execution_ids.append(execution.id)
                notes.add(bot.id, "accepted", execution_id=execution.id)
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
