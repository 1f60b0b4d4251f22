"""Moving an SQLite installation to PostgreSQL with `python -m agented.migrate_db`."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from agented.migrate_db import TABLES
from agented.migrate_db import main as migrate_db_main
from agented.paths import migrations_dir

from ..support.bots import BOTS, make_bot
from ..support.sse import stream_events

PRINT_LINES = "print('first'); print('second'); print('third')"


def _tables_created_by(engine: str) -> set[str]:
    found: set[str] = set()
    for script in migrations_dir(engine).glob("*.sql"):
        found.update(re.findall(r"CREATE TABLE (\w+)", script.read_text()))
    return found


def test_every_table_of_the_schema_is_copied() -> None:
    assert set(TABLES) == _tables_created_by("sqlite") == _tables_created_by("postgres")


async def _run_to_end(client, bot: dict[str, Any], message: str) -> str:
    response = await client.post(f"{BOTS}/{bot['id']}/run", json={"message": message})
    assert response.status_code == 202, await response.get_json()
    execution_id: str = (await response.get_json())["execution_id"]
    await stream_events(client, execution_id)
    return execution_id


async def _everything(client) -> dict[str, Any]:
    """What a reader sees through the API, for comparing the installation before and after."""
    executions = (await (await client.get("/admin/executions")).get_json())["executions"]
    runs = {}
    for execution in executions:
        found = await (await client.get(f"/admin/executions/{execution['id']}")).get_json()
        runs[execution["id"]] = found
    agents = await (await client.get("/admin/agents")).get_json()
    boxes = {
        (agent["id"], box): await (
            await client.get(f"/admin/agents/{agent['id']}/messages/{box}")
        ).get_json()
        for agent in agents["agents"]
        for box in ("inbox", "outbox")
    }
    return {
        "bots": await (await client.get(BOTS)).get_json(),
        "runs": runs,
        "agents": agents,
        "boxes": boxes,
        "accounts": await (await client.get("/admin/accounts")).get_json(),
    }


async def test_an_sqlite_installation_is_copied_whole_and_served_from_postgresql(
    make_app, postgres_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    sqlite_app = make_app(AGENTED_DATABASE_URL=None)
    async with sqlite_app.test_app():
        client = sqlite_app.test_client()
        command = [sys.executable, "-c", PRINT_LINES]
        bot = await make_bot(client, "say {message}", backend_type="command", command=command)
        for message in ("one", "two"):
            await _run_to_end(client, bot, message)
        account = {"name": "Main", "backend": "claude", "secret_env": {"ANTHROPIC_API_KEY": "k"}}
        assert (await client.post("/admin/accounts", json=account)).status_code == 201
        sender = await (await client.post("/admin/agents", json={"name": "lead"})).get_json()
        reader = await (await client.post("/admin/agents", json={"name": "coder"})).get_json()
        sent = await client.post(
            f"/admin/agents/{sender['id']}/messages",
            json={"to_agent_id": reader["id"], "content": "please review"},
        )
        assert sent.status_code == 201, await sent.get_json()
        before = await _everything(client)

    monkeypatch.setenv("AGENTED_ENV_FILE", str(tmp_path / "none.env"))
    monkeypatch.setenv("AGENTED_DB_PATH", str(tmp_path / "agented.db"))
    monkeypatch.setenv("AGENTED_DATABASE_URL", postgres_database)
    assert await asyncio.to_thread(migrate_db_main, []) == 0
    report = capsys.readouterr().out
    assert re.search(r"^execution_logs\s+6 rows$", report, re.MULTILINE), report
    assert "the counts match" in report

    postgres_app = make_app(AGENTED_DATABASE_URL=postgres_database)
    async with postgres_app.test_app():
        client = postgres_app.test_client()
        assert await _everything(client) == before
        # The copy goes on where the original stopped: run numbers, message order, new rows.
        third = await _run_to_end(client, bot, "three")
        found = await (await client.get(f"/admin/executions/{third}")).get_json()
        assert found["run_number"] == 3
        assert [line["content"] for line in found["logs"]][-3:] == ["first", "second", "third"]

    # A second copy into the now-populated database is refused, and changes nothing.
    assert await asyncio.to_thread(migrate_db_main, []) == 1
    assert "already holds data" in capsys.readouterr().err


async def test_a_copy_needs_a_postgresql_url_and_an_existing_sqlite_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres_database: str, capsys
) -> None:
    monkeypatch.setenv("AGENTED_ENV_FILE", str(tmp_path / "none.env"))
    monkeypatch.setenv("AGENTED_DB_PATH", str(tmp_path / "missing.db"))
    monkeypatch.delenv("AGENTED_DATABASE_URL", raising=False)
    assert await asyncio.to_thread(migrate_db_main, []) == 1
    assert "set AGENTED_DATABASE_URL" in capsys.readouterr().err
    monkeypatch.setenv("AGENTED_DATABASE_URL", postgres_database)
    assert await asyncio.to_thread(migrate_db_main, []) == 1
    assert "no SQLite database at" in capsys.readouterr().err
    assert not (tmp_path / "missing.db").exists(), "nothing created"
