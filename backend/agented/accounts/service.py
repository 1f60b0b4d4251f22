"""Accounts as the system keeps them: secrets sealed, the run's placement, the limited state.

An account's `secret_env` is sealed as one JSON object with the server's
SecretBox, as a bot's webhook secret is, and only its names are ever shown. A
run on an account gets the account's variables on top of the CLI environment
(which is already without Agented's own settings); when the run is rate
limited, the account is `limited` until the provider's reset time.

A run goes on the first account of its bot's `account_chain` (else its
backend's default account) that is neither limited nor over a spend limit;
when none is, or the bot itself is over a spend limit, it waits until the
earliest of their resets. The clock is injectable so tests can move time.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from ..errors import NotFound
from ..executions.placement import Budget, Placement, Wait
from ..executions.spend import SpendTotals, has_limits, limit_reached, spent
from ..executions.verdicts import RateLimit
from ..models import Account, Bot, SpendLimits, iso, utc_now
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
    def __init__(
        self,
        accounts: AccountStore,
        box: SecretBox,
        spend: SpendTotals,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._accounts = accounts
        self._box = box
        self._spend = spend
        self.clock = clock  # tests move time with it

    def now(self) -> datetime:
        return self.clock()

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

    async def chain_of(self, bot: Bot) -> list[Account]:
        """The accounts a run of `bot` may use, in order: its chain, else its backend's default."""
        if bot.account_chain:
            found = [await self._accounts.get(account_id) for account_id in bot.account_chain]
            return [account for account in found if account is not None]
        default = await self._accounts.default_for(bot.backend_type)
        return [] if default is None else [default]

    async def place(self, bot: Bot) -> Placement | Wait:
        """The account a run of `bot` goes on now, with its budgets; or how long it must wait."""
        now = self.now()
        budgets: list[Budget] = []
        if has_limits(bot):
            budget = await self._budget(f"bot {bot.name!r}", bot, now, bot_id=bot.id)
            if (reached := limit_reached(budget.owner, bot, budget.spent, now)) is not None:
                return Wait(reached.until, reached.reason)
            budgets.append(budget)
        chain = await self.chain_of(bot)
        if not chain:
            return Placement(budgets=tuple(budgets))  # no account: as before accounts existed
        waits: list[Wait] = []
        for account in chain:
            if account.limited_until is not None and account.limited_until > iso(now):
                reason = f"account {account.name!r} limited until {account.limited_until}"
                if account.limited_reason:
                    reason += f" ({account.limited_reason})"
                waits.append(Wait(datetime.fromisoformat(account.limited_until), reason))
                continue
            budget = await self._budget(
                f"account {account.name!r}", account, now, account_id=account.id
            )
            if (reached := limit_reached(budget.owner, account, budget.spent, now)) is not None:
                waits.append(Wait(reached.until, reached.reason))
                continue
            if has_limits(account):
                budgets.append(budget)
            return Placement(
                account.id,
                account.name,
                account.backend,
                {**account.env, **self._secrets(account)},
                tuple(budgets),
            )
        return Wait(min(wait.until for wait in waits), "; ".join(wait.reason for wait in waits))

    async def budgets_of(self, bot: Bot, account_id: str | None) -> tuple[Budget, ...]:
        """The budgets of a run of `bot` on `account_id` that is already under way (one a
        restarted server follows again on its worker), with what was spent as of now."""
        now = self.now()
        budgets: list[Budget] = []
        if has_limits(bot):
            budgets.append(await self._budget(f"bot {bot.name!r}", bot, now, bot_id=bot.id))
        account = None if account_id is None else await self._accounts.get(account_id)
        if account is not None and has_limits(account):
            owner = f"account {account.name!r}"
            budgets.append(await self._budget(owner, account, now, account_id=account.id))
        return tuple(budgets)

    async def _budget(self, owner: str, limits: SpendLimits, now: datetime, **whose: str) -> Budget:
        return Budget(owner, limits, await spent(self._spend, now, **whose))

    async def rate_limited(self, account_id: str, limit: RateLimit) -> None:
        """Mark the account limited until the provider's reset, with the reason."""
        until = iso(limited_until(limit, self.now()))
        changes = {"limited_until": until, "limited_reason": limit.reason}
        if await self._accounts.update(account_id, changes) is not None:
            logger.warning("account %s is limited until %s: %s", account_id, until, limit.reason)

    async def name_of(self, account_id: str | None) -> str:
        if account_id is None:
            return "no account"
        account = await self._accounts.get(account_id)
        return f"{account_id} (deleted)" if account is None else f"{account.name!r} ({account_id})"

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
