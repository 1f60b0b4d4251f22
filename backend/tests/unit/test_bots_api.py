"""The bot API: CRUD, validation, prompt preview, OpenAPI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agented.openapi import main as print_openapi_schema

BOTS = "/admin/triggers"


async def create(client, **fields: Any):
    body = {"name": "Reviewer", "prompt_template": "Review {message}", **fields}
    return await client.post(BOTS, json=body)


async def test_create_applies_defaults_and_returns_the_stored_bot(client) -> None:
    response = await create(client)
    assert response.status_code == 201
    bot = await response.get_json()
    assert bot["id"].startswith("bot_")
    assert {
        k: bot[k] for k in ("backend_type", "trigger_source", "enabled", "timeout_seconds")
    } == {
        "backend_type": "claude",
        "trigger_source": "manual",
        "enabled": True,
        "timeout_seconds": 600,
    }
    assert bot["sigterm_grace_seconds"] == 10
    assert bot["paths"] == []
    assert bot["command"] is None
    assert bot["last_execution"] is None
    fetched = await (await client.get(f"{BOTS}/{bot['id']}")).get_json()
    assert fetched == bot
    listed = await (await client.get(BOTS)).get_json()
    assert [b["id"] for b in listed["triggers"]] == [bot["id"]]


async def test_names_are_unique_ignoring_case(client) -> None:
    await create(client, name="Reviewer")
    response = await create(client, name="  reviewer ")
    assert response.status_code == 409
    body = await response.get_json()
    assert body["field"] == "name"
    assert "already exists" in body["error"]
    assert len((await (await client.get(BOTS)).get_json())["triggers"]) == 1


@pytest.mark.parametrize(
    ("fields", "field", "fragment"),
    [
        ({"colour": "red"}, "colour", "not a known field"),
        ({"timeout_seconds": "600"}, "timeout_seconds", "integer"),
        ({"timeout_seconds": 0}, "timeout_seconds", "greater than or equal to 1"),
        ({"timeout_seconds": 86_401}, "timeout_seconds", "less than or equal to 86400"),
        ({"enabled": "yes"}, "enabled", "boolean"),
        ({"backend_type": "gpt"}, "backend_type", "claude"),
        ({"trigger_source": "email"}, "trigger_source", "manual"),
        ({"paths": ["/definitely/not/here"]}, "paths", "not an existing directory"),
        ({"paths": ["relative/dir"]}, "paths", "not an absolute path"),
        ({"paths": "/tmp"}, "paths", "list"),
        ({"backend_type": "command"}, "command", "required when backend_type is 'command'"),
        ({"backend_type": "command", "command": []}, "command", "non-empty argv"),
        ({"backend_type": "opencode", "model": "gpt-5"}, "model", "needs provider/model"),
        ({"backend_type": "opencode", "model": "openai/"}, "model", "needs provider/model"),
        ({"backend_type": "opencode", "model": "/gpt-5"}, "model", "needs provider/model"),
        ({"name": "   "}, "name", "at least 1 character"),
    ],
)
async def test_invalid_fields_are_rejected_naming_the_field(
    client, fields: dict[str, Any], field: str, fragment: str
) -> None:
    response = await create(client, **fields)
    assert response.status_code == 400
    body = await response.get_json()
    assert body["field"] == field
    assert body["error"].startswith(field)
    assert fragment in body["error"]
    assert (await (await client.get(BOTS)).get_json())["triggers"] == []


async def test_missing_required_field(client) -> None:
    response = await client.post(BOTS, json={"name": "x"})
    assert response.status_code == 400
    assert await response.get_json() == {
        "error": "prompt_template: is required",
        "field": "prompt_template",
    }


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"data": "name=x", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 415),
        ({"data": "{not json", "headers": {"Content-Type": "application/json"}}, 400),
        ({"json": ["a", "list"]}, 400),
    ],
)
async def test_bodies_that_are_not_a_json_object(client, kwargs: dict, status: int) -> None:
    response = await client.post(BOTS, **kwargs)
    assert response.status_code == status
    assert "error" in await response.get_json()


async def test_existing_directories_and_commands_are_kept(client, tmp_path: Path) -> None:
    response = await create(
        client,
        backend_type="command",
        command=["my-cli", "--ask", "{prompt}"],
        paths=[str(tmp_path)],
        model="opus",
    )
    assert response.status_code == 201
    bot = await response.get_json()
    assert bot["command"] == ["my-cli", "--ask", "{prompt}"]
    assert bot["paths"] == [str(tmp_path)]


async def test_opencode_model_with_its_provider_is_kept_and_checked_on_update(client) -> None:
    response = await create(client, backend_type="opencode", model="openrouter/qwen/qwen3-coder")
    assert response.status_code == 201
    bot = await response.get_json()
    assert bot["model"] == "openrouter/qwen/qwen3-coder"
    changed = await client.put(f"{BOTS}/{bot['id']}", json={"model": "qwen3-coder"})
    assert changed.status_code == 400
    assert (await changed.get_json())["field"] == "model"
    claude = await (await create(client, name="other", model="opus")).get_json()
    moved = await client.put(f"{BOTS}/{claude['id']}", json={"backend_type": "opencode"})
    assert moved.status_code == 400


async def test_update_changes_only_what_is_sent(client) -> None:
    bot = await (await create(client, model="sonnet")).get_json()
    response = await client.put(f"{BOTS}/{bot['id']}", json={"timeout_seconds": 30, "model": None})
    assert response.status_code == 200
    updated = await response.get_json()
    assert updated["timeout_seconds"] == 30
    assert updated["model"] is None
    assert updated["name"] == bot["name"]
    assert updated["prompt_template"] == bot["prompt_template"]
    assert updated["updated_at"] >= bot["updated_at"]


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"name": None}, 400, "name"),
        ({"timeout_seconds": None}, 400, "timeout_seconds"),
        ({"name": "OTHER"}, 409, "name"),
        ({"backend_type": "command"}, 400, "command"),
        ({"unknown": 1}, 400, "unknown"),
    ],
)
async def test_bad_updates_change_nothing(client, change: dict, status: int, field: str) -> None:
    await create(client, name="Other")
    bot = await (await create(client)).get_json()
    response = await client.put(f"{BOTS}/{bot['id']}", json=change)
    assert response.status_code == status
    assert (await response.get_json())["field"] == field
    assert await (await client.get(f"{BOTS}/{bot['id']}")).get_json() == bot


async def test_delete_then_404(client) -> None:
    bot = await (await create(client)).get_json()
    assert (await client.delete(f"{BOTS}/{bot['id']}")).status_code == 204
    for response in (
        await client.get(f"{BOTS}/{bot['id']}"),
        await client.delete(f"{BOTS}/{bot['id']}"),
        await client.put(f"{BOTS}/{bot['id']}", json={"enabled": False}),
        await client.post(f"{BOTS}/{bot['id']}/run", json={}),
    ):
        assert response.status_code == 404
        assert "not found" in (await response.get_json())["error"]


async def test_preview_renders_and_lists_unresolved_placeholders(client, tmp_path: Path) -> None:
    bot = await (
        await create(
            client,
            prompt_template="{message} in {paths} by {trigger_id} for {pr_url}",
            paths=[str(tmp_path)],
        )
    ).get_json()
    response = await client.post(f"{BOTS}/{bot['id']}/preview-prompt", json={"message": "Fix it"})
    assert await response.get_json() == {
        "prompt": f"Fix it in {tmp_path} by {bot['id']} for {{pr_url}}",
        "unresolved": ["pr_url"],
    }


async def test_disabled_bot_cannot_run(client) -> None:
    bot = await (await create(client, enabled=False)).get_json()
    response = await client.post(f"{BOTS}/{bot['id']}/run", json={"message": "x"})
    assert response.status_code == 400
    assert "disabled" in (await response.get_json())["error"]


async def test_openapi_and_docs_are_published(client) -> None:
    spec = await (await client.get("/openapi.json")).get_json()
    assert "/admin/triggers" in spec["paths"]
    assert "/admin/triggers/{bot_id}/run" in spec["paths"]
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in (await docs.get_data(as_text=True)).lower()


async def test_the_schema_printed_without_a_server_is_the_one_served(client, capsys) -> None:
    served = await (await client.get("/openapi.json")).get_json()
    print_openapi_schema()
    assert json.loads(capsys.readouterr().out) == served
