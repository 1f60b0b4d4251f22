"""Creating and running bots through the API in tests."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

FAKES = Path(__file__).resolve().parent.parent / "fakes"
BOTS = "/admin/triggers"


def put_fakes_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the fake claude/codex/gemini/opencode the ones the server finds."""
    monkeypatch.setenv("PATH", f"{FAKES}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_CLI_PYTHON", sys.executable)


async def make_bot(client, prompt: str, **fields: Any) -> dict[str, Any]:
    body = {"name": f"bot {uuid.uuid4().hex[:8]}", "prompt_template": prompt, **fields}
    response = await client.post(BOTS, json=body)
    assert response.status_code == 201, await response.get_json()
    return await response.get_json()
