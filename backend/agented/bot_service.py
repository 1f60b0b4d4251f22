"""Bots as the system keeps them: validated as a whole, secrets sealed, schedules in step.

Field-level checks live in the API schemas; what depends on several fields
(a command backend needs a command, an opencode model names its provider, a
scheduled bot needs a valid schedule) is checked here on the bot as it would be
stored, for creates and updates alike.
"""

from __future__ import annotations

from typing import Any

from .errors import BotBusy, BotInvalid
from .executions.service import ExecutionService
from .models import Bot
from .secret_box import SecretBox, check_opens
from .storage.accounts import AccountStore
from .storage.agents import AgentStore
from .storage.bots import BotStore
from .triggers.schedules import ScheduledTriggerService, ScheduleError, build_trigger


def _check(values: dict[str, Any], default_zone: str) -> None:
    if values.get("backend_type") == "command" and not values.get("command"):
        raise BotInvalid("command", "required when backend_type is 'command'")
    if values.get("backend_type") == "opencode" and (model := values.get("model")):
        # opencode resolves --model as provider/model; anything else fails only at run
        # time, with "Unexpected server error".
        provider, _, name = model.partition("/")
        if not (provider.strip() and name.strip()):
            raise BotInvalid(
                "model",
                f"opencode needs provider/model (e.g. anthropic/claude-sonnet-4), got {model!r}",
            )
    if values.get("trigger_source") == "scheduled":
        if not values.get("schedule_type"):
            raise BotInvalid("schedule_type", "required when trigger_source is 'scheduled'")
        try:
            build_trigger(values, default_zone)
        except ScheduleError as error:
            raise BotInvalid(error.field, error.message) from None


class BotService:
    def __init__(
        self,
        bots: BotStore,
        schedules: ScheduledTriggerService,
        runs: ExecutionService,
        box: SecretBox,
        agents: AgentStore,
        accounts: AccountStore,
    ) -> None:
        self._bots = bots
        self._agents = agents
        self._accounts = accounts
        self._schedules = schedules
        self._runs = runs
        self._box = box

    async def create(self, values: dict[str, Any]) -> Bot:
        _check(values, self._schedules.default_zone)
        await self._check_agent(values)
        await self._check_chain(values)
        bot = await self._bots.create(self._seal(values))
        self._schedules.sync(bot)
        return bot

    async def update(self, bot: Bot, changes: dict[str, Any]) -> Bot | None:
        _check({**dict(bot), **changes}, self._schedules.default_zone)
        await self._check_agent(changes)
        if "account_chain" in changes:  # a chain naming an account deleted since stays editable
            await self._check_chain({**dict(bot), **changes})
        updated = await self._bots.update(bot.id, self._seal(changes))
        if updated is not None:
            self._schedules.sync(updated)
        return updated

    async def delete(self, bot: Bot) -> None:
        if (active := self._runs.active_for_bot(bot.id)) is not None:
            raise BotBusy(f"bot is running execution {active}; cancel it first", active)
        self._schedules.remove(bot.id)
        await self._bots.delete(bot.id)

    async def check_secrets(self) -> None:
        """Refuse to start when stored secrets no longer open (SECRET_KEY changed)."""
        sealed = {
            bot.name: bot.webhook_secret_sealed
            for bot in await self._bots.list()
            if bot.webhook_secret_sealed
        }
        check_opens(self._box, "the webhook secrets of {count} bot(s)", sealed)

    async def _check_agent(self, values: dict[str, Any]) -> None:
        """The agent a bot is to act as must exist."""
        agent_id = values.get("agent_id")
        if agent_id is not None and await self._agents.get(agent_id) is None:
            raise BotInvalid("agent_id", f"no agent {agent_id}")

    async def _check_chain(self, values: dict[str, Any]) -> None:
        """A chain names existing accounts, once each, whose backends can run this bot."""
        chain: list[str] = values.get("account_chain") or []
        if len(set(chain)) != len(chain):
            raise BotInvalid("account_chain", "names an account more than once")
        for account_id in chain:
            account = await self._accounts.get(account_id)
            if account is None:
                raise BotInvalid("account_chain", f"no account {account_id}")
            if account.backend == "command" and not values.get("command"):
                raise BotInvalid(
                    "account_chain",
                    f"account {account.name!r} runs a command, and this bot has no command",
                )

    def next_run_at(self, bot: Bot) -> str | None:
        return self._schedules.next_run_at(bot.id)

    def _seal(self, values: dict[str, Any]) -> dict[str, Any]:
        """Swap a plaintext `webhook_secret` for its sealed form (None clears it)."""
        if "webhook_secret" not in values:
            return values
        values = dict(values)
        secret = values.pop("webhook_secret")
        values["webhook_secret_sealed"] = None if secret is None else self._box.seal(secret)
        return values
