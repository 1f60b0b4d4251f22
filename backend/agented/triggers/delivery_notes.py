"""What became of one webhook delivery, noted bot by bot while it is handled, then stored.

The webhook and GitHub receivers, and the HTTP edge for what it refuses before
them, note each outcome here; one write stores them all. A failure to store the
notes is logged and never changes the answer the sender gets.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from ..models import DeliveryOutcome, DeliverySource
from ..storage.database import DatabaseError
from ..storage.delivery_records import DeliveryRecordStore

logger = logging.getLogger(__name__)


@dataclass
class DeliveryNotes:
    source: DeliverySource
    delivery_id: str | None
    event: str | None = None
    entries: list[dict[str, Any]] = field(default_factory=list)

    def add(
        self,
        bot_id: str | None,
        outcome: DeliveryOutcome,
        reason: str | None = None,
        *,
        execution_id: str | None = None,
    ) -> None:
        self.entries.append(
            {
                "bot_id": bot_id,
                "source": self.source,
                "delivery_id": self.delivery_id,
                "event": self.event,
                "outcome": outcome,
                "reason": reason,
                "execution_id": execution_id,
            }
        )

    async def save(self, records: DeliveryRecordStore) -> None:
        try:
            await records.record(self.entries)
        except DatabaseError as error:
            logger.warning("could not record a %s delivery: %s", self.source, error)
