"""Agents as the system keeps them: deleting one also ends its live inbox streams."""

from __future__ import annotations

from typing import Any

from ..errors import NotFound
from ..models import Agent
from ..storage.agents import AgentStore
from .messages import MessageService


class AgentService:
    def __init__(self, agents: AgentStore, messages: MessageService) -> None:
        self._agents = agents
        self._messages = messages

    async def create(self, values: dict[str, Any]) -> Agent:
        return await self._agents.create(values)

    async def update(self, agent_id: str, changes: dict[str, Any]) -> Agent:
        updated = await self._agents.update(agent_id, changes)
        if updated is None:
            raise NotFound(f"agent {agent_id} not found")
        return updated

    async def delete(self, agent_id: str) -> None:
        """Delete the agent; its bots then act as no agent, and its messages stay."""
        if not await self._agents.delete(agent_id):
            raise NotFound(f"agent {agent_id} not found")
        await self._messages.close_inbox(agent_id)
