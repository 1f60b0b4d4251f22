"""Bots live at /admin/bots and records name them by bot_id; the former names still work."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agented.api.schemas import BOT_DEFAULTS, NON_NULLABLE, BotCreate, BotUpdate
from agented.models import BotSettings
from agented.paths import migrations_dir
from agented.storage import migrate
from agented.storage.executions import ExecutionStore, Filters
from agented.storage.sqlite import SqliteDatabase

from ..support.bots import make_bot, put_fakes_on_path
from ..support.sse import stream_events

NEW, OLD = "/admin/bots", "/admin/triggers"


@pytest.fixture(autouse=True)
def fake_clis_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    put_fakes_on_path(monkeypatch)


async def test_a_bot_made_at_either_prefix_is_the_same_bot_at_both(client) -> None:
    created = await client.post(NEW, json={"name": "New", "prompt_template": "x"})
    assert created.status_code == 201
    bot = await created.get_json()
    assert await (await client.get(f"{OLD}/{bot['id']}")).get_json() == bot
    renamed = await client.put(f"{OLD}/{bot['id']}", json={"name": "Renamed"})
    assert await (await client.get(f"{NEW}/{bot['id']}")).get_json() == await renamed.get_json()
    assert (await client.delete(f"{NEW}/{bot['id']}")).status_code == 204
    assert (await client.get(f"{OLD}/{bot['id']}")).status_code == 404


async def test_the_bot_list_is_under_bots_and_under_its_former_key_triggers(client) -> None:
    bot = await make_bot(client, "x")
    for prefix in (NEW, OLD):
        listed = await (await client.get(prefix)).get_json()
        assert listed["bots"] == listed["triggers"]
        assert [b["id"] for b in listed["bots"]] == [bot["id"]]


async def test_executions_name_their_bot_by_bot_id_and_by_trigger_id(client) -> None:
    bot = await make_bot(client, "fake: lines 2", backend_type="codex")
    other = await make_bot(client, "fake: lines 2", backend_type="codex")
    started = await client.post(f"{NEW}/{bot['id']}/run", json={})
    execution_id = (await started.get_json())["execution_id"]
    await stream_events(client, execution_id)
    await client.post(f"{OLD}/{other['id']}/run", json={})

    execution = await (await client.get(f"/admin/executions/{execution_id}")).get_json()
    assert execution["bot_id"] == execution["trigger_id"] == bot["id"]
    assert execution["bot_name"] == execution["trigger_name"] == bot["name"]
    for query in ({"bot_id": bot["id"]}, {"trigger_id": bot["id"]}):
        page = await (await client.get("/admin/executions", query_string=query)).get_json()
        assert [e["id"] for e in page["executions"]] == [execution_id]
    for prefix in (NEW, OLD):
        page = await (await client.get(f"{prefix}/{bot['id']}/executions")).get_json()
        assert [e["id"] for e in page["executions"]] == [execution_id]


async def test_bot_id_and_trigger_id_naming_different_bots_are_refused(client) -> None:
    response = await client.get(
        "/admin/executions", query_string={"bot_id": "a", "trigger_id": "b"}
    )
    assert response.status_code == 400
    assert (await response.get_json())["field"] == "trigger_id"


async def test_the_published_schema_has_both_prefixes_the_old_one_deprecated(client) -> None:
    spec = await (await client.get("/openapi.json")).get_json()
    new, old = (spec["paths"][f"{prefix}/{{bot_id}}/run"]["post"] for prefix in (NEW, OLD))
    assert "deprecated" not in new
    assert old["deprecated"] is True
    operations = [op for path in spec["paths"].values() for op in path.values()]
    ids = [op["operationId"] for op in operations]
    assert len(ids) == len(set(ids)), "operation ids are unique"


async def test_a_bot_whose_directory_is_gone_still_loads(client, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    bot = await make_bot(client, "x", paths=[str(work)])
    shutil.rmtree(work)
    shown = await client.get(f"{NEW}/{bot['id']}")
    assert shown.status_code == 200
    assert (await shown.get_json())["paths"] == [str(work)]


def test_the_request_models_are_the_bot_settings_plus_the_webhook_secret() -> None:
    settings = set(BotSettings.model_fields)
    assert (
        set(BotCreate.model_fields) == set(BotUpdate.model_fields) == settings | {"webhook_secret"}
    )
    assert {n for n, f in BotCreate.model_fields.items() if f.is_required()} == {
        "name",
        "prompt_template",
    }
    assert not any(f.is_required() for f in BotUpdate.model_fields.values())
    assert set(BOT_DEFAULTS) == settings - {"name", "prompt_template"}
    assert {"name", "prompt_template", "paths", "timeout_seconds"} <= set(NON_NULLABLE)
    assert "model" not in NON_NULLABLE


async def test_executions_stored_before_the_rename_keep_their_bot(tmp_path: Path) -> None:
    before = tmp_path / "before"
    before.mkdir()
    for script in sorted(migrations_dir("sqlite").glob("000[1-4]_*.sql")):
        shutil.copy(script, before)
    database = await SqliteDatabase.open(tmp_path / "old.db")
    try:
        await migrate(database, before)
        for statement in (
            "INSERT INTO bots (id, name, name_key, prompt_template, backend_type, trigger_source,"
            " enabled, output_format, paths, timeout_seconds, sigterm_grace_seconds,"
            " allow_concurrent_runs, created_at, updated_at) VALUES ('bot_1', 'Old', 'old', 'x',"
            " 'claude', 'manual', 1, 'json', '[]', 600, 10, 0, '2026-01-01', '2026-01-01')",
            "INSERT INTO executions (id, seq, trigger_id, trigger_name, trigger_type, status,"
            " backend_type, prompt, command, created_at) VALUES ('exe_1', 1, 'bot_1', 'Old',"
            " 'manual', 'success', 'claude', '', '[]', '2026-01-01T00:00:00Z')",
        ):
            await database.write(lambda connection, sql=statement: connection.execute(sql))
        await migrate(database, migrations_dir("sqlite"))
        page = await ExecutionStore(database).page(Filters(bot_id="bot_1"))
        assert [(e.id, e.bot_id, e.bot_name) for e in page.executions] == [
            ("exe_1", "bot_1", "Old")
        ]
    finally:
        await database.close()
