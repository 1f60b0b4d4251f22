"""Accounts as the system keeps them: secrets sealed, the run's overlay, the limited state.

An account's `secret_env` is sealed as one JSON object with the server's
SecretBox, as a bot's webhook secret is, and only its names are ever shown. A
run on an account gets the account's variables on top of the CLI environment
(which is already without Agented's own settings); when the run is rate
limited, the account is `limited` until the provider's reset time.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from ..errors import NotFound
from ..executions.verdicts import RateLimit
from ..models import Account, Bot, iso, utc_now
from ..secret_box import SecretBox, check_opens
from ..storage.accounts import AccountStore

logger = logging.getLogger(__name__)

# How long an account stays limited when the provider gave no reset time: an
# overload passes in moments; a limit without a reset time is guessed at a
# quarter hour, long enough not to hammer the provider, short enough not to
# strand the account.
TRANSIENT_LIMIT = timedelta(minutes=1)
UNKNOWN_RESET_LIMIT = timedelta(minutes=15)


def limited_until(limit: RateLimit, now: datetime) -> datetime:
    """When an account limited by `limit` at `now` may be used again."""
    if limit.resets_at is not None and limit.resets_at > now:
        return limit.resets_at
    return now + (TRANSIENT_LIMIT if limit.transient else UNKNOWN_RESET_LIMIT)


class AccountService:
    def __init__(self, accounts: AccountStore, box: SecretBox) -> None:
        self._accounts = accounts
        self._box = box

    async def create(self, values: dict[str, Any]) -> Account:
        return await self._accounts.create(self._seal({"secret_env": None, **values}))

    async def update(self, account_id: str, changes: dict[str, Any]) -> Account:
        return self._found(account_id, await self._accounts.update(account_id, self._seal(changes)))

    async def delete(self, account_id: str) -> None:
        if not await self._accounts.delete(account_id):
            raise NotFound(f"account {account_id} not found")

    async def clear(self, account_id: str) -> Account:
        """Make a limited account available again (an operator knows better than our guess)."""
        changes = {"limited_until": None, "limited_reason": None}
        return self._found(account_id, await self._accounts.update(account_id, changes))

    async def for_run(self, bot: Bot) -> tuple[str, dict[str, str]] | None:
        """The account a run of `bot` uses (its backend's default), and its environment overlay."""
        account = await self._accounts.default_for(bot.backend_type)
        if account is None:
            return None
        return account.id, {**account.env, **self._secrets(account)}

    async def rate_limited(self, account_id: str, limit: RateLimit) -> None:
        """Mark the account limited until the provider's reset, with the reason."""
        until = iso(limited_until(limit, utc_now()))
        changes = {"limited_until": until, "limited_reason": limit.reason}
        if await self._accounts.update(account_id, changes) is not None:
            logger.warning("account %s is limited until %s: %s", account_id, until, limit.reason)

    async def check_secrets(self) -> None:
        """Refuse to start when stored secrets no longer open (SECRET_KEY changed)."""
        sealed = {
            account.name: account.secret_env_sealed
            for account in await self._accounts.list()
            if account.secret_env_sealed
        }
        check_opens(self._box, "the secret variables of {count} account(s)", sealed)

    def _secrets(self, account: Account) -> dict[str, str]:
        if account.secret_env_sealed is None:
            return {}
        opened: dict[str, str] = json.loads(self._box.open(account.secret_env_sealed))
        return opened

    def _seal(self, values: dict[str, Any]) -> dict[str, Any]:
        """Swap a plaintext `secret_env` for its sealed form and its names (None clears it)."""
        if "secret_env" not in values:
            return values
        values = dict(values)
        secrets: dict[str, str] = values.pop("secret_env") or {}
        values["secret_env_names"] = sorted(secrets)
        values["secret_env_sealed"] = (
            self._box.seal(json.dumps(secrets, separators=(",", ":"))) if secrets else None
        )
        return values

    @staticmethod
    def _found(account_id: str, account: Account | None) -> Account:
        if account is None:
            raise NotFound(f"account {account_id} not found")
        return account
