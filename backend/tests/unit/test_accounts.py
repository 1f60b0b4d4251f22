"""Accounts: CRUD and validation, sealed secrets, the run's overlay, the limited state, rekey."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import sys
from pathlib import Path
from typing import Any

import pytest
from quart import Quart
from quart.testing.app import LifespanError

from agented.rekey import main as rekey_main
from agented.runtime import runtime_of

from ..support.bots import BOTS, make_bot, put_fakes_on_path
from ..support.sse import stream_events
from ..support.storage import use_the_apps_database

ACCOUNTS = "/admin/accounts"
SECRET = "sk-very-secret-value-123"
# A command bot that shows its plain variable, and only a digest of its secret one (the
# secret in its argv would put it in the execution's recorded command).
SHOW_ENV = (
    "import hashlib, os; print(os.environ.get('PLAIN_DIR')); "
    "print(hashlib.sha256(os.environ.get('API_KEY', '').encode()).hexdigest())"
)
SECRET_DIGEST = hashlib.sha256(SECRET.encode()).hexdigest()
NO_SECRET_DIGEST = hashlib.sha256(b"").hexdigest()


@pytest.fixture(autouse=True)
def fake_clis_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    put_fakes_on_path(monkeypatch)


async def make_account(client, name: str, **fields: Any) -> dict[str, Any]:
    response = await client.post(ACCOUNTS, json={"name": name, "backend": "codex", **fields})
    assert response.status_code == 201, await response.get_json()
    account: dict[str, Any] = await response.get_json()
    return account


async def run_to_end(client, bot: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(f"{BOTS}/{bot['id']}/run", json={"message": ""})
    assert response.status_code == 202, await response.get_json()
    execution_id = (await response.get_json())["execution_id"]
    await stream_events(client, execution_id)
    found = await client.get(f"/admin/executions/{execution_id}")
    execution: dict[str, Any] = await found.get_json()
    return execution


def log_lines(execution: dict[str, Any]) -> list[str]:
    return [line["content"] for line in execution["logs"]]


async def command_bot(client) -> dict[str, Any]:
    command = [sys.executable, "-c", SHOW_ENV]
    return await make_bot(client, "show env", backend_type="command", command=command)


async def raw_row(app: Quart, account_id: str) -> dict[str, Any]:
    """The account's row as stored, read past the API."""
    row = await runtime_of(app).database.read(
        lambda connection: connection.execute(
            "SELECT * FROM accounts WHERE id = ?", (account_id,)
        ).fetchone()
    )
    return dict(row)


# CRUD and validation


async def test_an_account_is_created_read_listed_updated_and_deleted(client) -> None:
    account = await make_account(client, "Work", env={"CODEX_HOME": "/srv/codex-work"})
    assert account["id"].startswith("acc_")
    assert account["backend"] == "codex"
    assert account["env"] == {"CODEX_HOME": "/srv/codex-work"}
    assert account["secret_env_names"] == []
    assert account["is_default"] is False
    assert account["state"] == "available"
    assert account["limited_until"] is None
    assert await (await client.get(f"{ACCOUNTS}/{account['id']}")).get_json() == account
    listed = await (await client.get(ACCOUNTS)).get_json()
    assert [a["id"] for a in listed["accounts"]] == [account["id"]]
    changed = await client.put(f"{ACCOUNTS}/{account['id']}", json={"env": {}})
    assert changed.status_code == 200
    assert (await changed.get_json())["env"] == {}
    assert (await changed.get_json())["name"] == "Work", "fields not sent are kept"
    assert (await client.delete(f"{ACCOUNTS}/{account['id']}")).status_code == 204
    assert (await client.get(f"{ACCOUNTS}/{account['id']}")).status_code == 404
    assert (await client.delete(f"{ACCOUNTS}/{account['id']}")).status_code == 404
    missing = await client.put(f"{ACCOUNTS}/acc_missing", json={"name": "x"})
    assert missing.status_code == 404


async def test_account_names_are_unique_ignoring_case(client) -> None:
    await make_account(client, "Work")
    clash = await client.post(ACCOUNTS, json={"name": " WORK ", "backend": "claude"})
    assert clash.status_code == 409
    assert (await clash.get_json())["field"] == "name"
    other = await make_account(client, "Home")
    renamed = await client.put(f"{ACCOUNTS}/{other['id']}", json={"name": "work"})
    assert renamed.status_code == 409


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x"}, "backend"),
        ({"name": "x", "backend": "cursor"}, "backend"),
        ({"name": "x", "backend": "codex", "env": {"1BAD": "v"}}, "env"),
        ({"name": "x", "backend": "codex", "env": {"A=B": "v"}}, "env"),
        ({"name": "x", "backend": "codex", "env": {"A": "nul\x00"}}, "env"),
        ({"name": "x", "backend": "codex", "env": {"A": "v" * 20_000}}, "env"),
        ({"name": "x", "backend": "codex", "env": {f"V{i}": "v" for i in range(101)}}, "env"),
        ({"name": "x", "backend": "codex", "env": {"A": 1}}, "env"),
        ({"name": "x", "backend": "codex", "secret_env": {"-": "v"}}, "secret_env"),
        ({"name": "x", "backend": "codex", "env": None}, "env"),
        ({"name": "x", "backend": "codex", "extra": 1}, "extra"),
    ],
)
async def test_invalid_accounts_are_refused_naming_the_field(client, body, field) -> None:
    response = await client.post(ACCOUNTS, json=body)
    assert response.status_code == 400
    assert field in (await response.get_json())["error"]


async def test_a_new_default_replaces_its_backends_former_one(client) -> None:
    first = await make_account(client, "First", is_default=True)
    claude = await make_account(client, "Claude", backend="claude", is_default=True)
    second = await make_account(client, "Second", is_default=True)
    shown = {
        a["name"]: a["is_default"]
        for a in (await (await client.get(ACCOUNTS)).get_json())["accounts"]
    }
    assert shown == {"First": False, "Claude": True, "Second": True}
    moved = await client.put(f"{ACCOUNTS}/{claude['id']}", json={"backend": "codex"})
    assert (await moved.get_json())["is_default"] is True
    again = await (await client.get(f"{ACCOUNTS}/{second['id']}")).get_json()
    assert again["is_default"] is False, "a default moved to codex replaces codex's"
    assert (
        await client.put(f"{ACCOUNTS}/{first['id']}", json={"is_default": True})
    ).status_code == 200


# Secrets


async def test_secret_variables_are_shown_by_name_only_and_sealed_at_rest(
    serving_app, client
) -> None:
    account = await make_account(client, "Keyed", secret_env={"API_KEY": SECRET, "B": "x"})
    assert account["secret_env_names"] == ["API_KEY", "B"]
    for shown in (
        account,
        await (await client.get(f"{ACCOUNTS}/{account['id']}")).get_json(),
        await (await client.get(ACCOUNTS)).get_json(),
    ):
        assert SECRET not in json.dumps(shown)
        assert "secret_env_sealed" not in json.dumps(shown)
    row = await raw_row(serving_app, account["id"])
    assert SECRET not in json.dumps(dict(row))
    assert row["secret_env_sealed"].startswith("gAAAA"), "a Fernet token"
    kept = await client.put(f"{ACCOUNTS}/{account['id']}", json={"name": "Renamed"})
    assert (await kept.get_json())["secret_env_names"] == ["API_KEY", "B"], "kept unless sent"
    cleared = await client.put(f"{ACCOUNTS}/{account['id']}", json={"secret_env": None})
    assert (await cleared.get_json())["secret_env_names"] == []
    assert (await raw_row(serving_app, account["id"]))["secret_env_sealed"] is None


# Runs on an account


async def test_a_run_gets_its_backends_default_account_overlay_and_records_it(
    client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    account = await make_account(
        client,
        "Scripts",
        backend="command",
        is_default=True,
        env={"PLAIN_DIR": "/srv/plain"},
        secret_env={"API_KEY": SECRET},
    )
    execution = await run_to_end(client, await command_bot(client))
    assert execution["status"] == "success", execution
    assert log_lines(execution) == ["/srv/plain", SECRET_DIGEST]
    assert execution["account_id"] == account["id"]
    assert SECRET not in json.dumps(execution), "not in the recorded command or anywhere"
    assert SECRET not in caplog.text


async def test_without_a_default_account_a_run_uses_none(client) -> None:
    await make_account(client, "Not default", backend="command", env={"PLAIN_DIR": "/x"})
    execution = await run_to_end(client, await command_bot(client))
    assert log_lines(execution) == ["None", NO_SECRET_DIGEST]
    assert execution["account_id"] is None


async def test_deleting_an_account_keeps_its_executions(client) -> None:
    account = await make_account(client, "Gone", backend="command", is_default=True)
    execution = await run_to_end(client, await command_bot(client))
    assert execution["account_id"] == account["id"]
    assert (await client.delete(f"{ACCOUNTS}/{account['id']}")).status_code == 204
    kept = await (await client.get(f"/admin/executions/{execution['id']}")).get_json()
    assert kept["account_id"] is None


# The limited state


async def test_a_rate_limited_run_limits_its_account_until_cleared(make_app) -> None:
    app = make_app()
    async with app.test_app():
        client = app.test_client()
        account = await make_account(client, "Limited", is_default=True)
        bot = await make_bot(client, "fake: rate-limit codex", backend_type="codex")
        execution = await run_to_end(client, bot)
        assert execution["error_message"].startswith("rate limited")
        assert execution["account_id"] == account["id"]
        limited = await (await client.get(f"{ACCOUNTS}/{account['id']}")).get_json()
        assert limited["state"] == "limited"
        assert limited["limited_until"] > limited["updated_at"]
        assert limited["limited_reason"]
    restarted = make_app()
    async with restarted.test_app():
        client = restarted.test_client()
        kept = await (await client.get(f"{ACCOUNTS}/{account['id']}")).get_json()
        assert kept["state"] == "limited", "survives a restart"
        cleared = await client.post(f"{ACCOUNTS}/{account['id']}/clear")
        assert cleared.status_code == 200
        shown = await cleared.get_json()
        assert (shown["state"], shown["limited_until"], shown["limited_reason"]) == (
            "available",
            None,
            None,
        )
        assert (await client.post(f"{ACCOUNTS}/acc_missing/clear")).status_code == 404


async def test_a_passed_reset_makes_the_account_available_by_itself(client, serving_app) -> None:
    account = await make_account(client, "Reset")
    store = runtime_of(serving_app).account_store
    await store.update(account["id"], {"limited_until": "2000-01-01T00:00:00.000+00:00"})
    shown = await (await client.get(f"{ACCOUNTS}/{account['id']}")).get_json()
    assert shown["state"] == "available"


# Rekey


async def test_rekey_covers_the_accounts_secret_variables(
    make_app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, app_overrides
) -> None:
    first = make_app(SECRET_KEY="old-secret-key")
    async with first.test_app():
        client = first.test_client()
        await make_account(
            client, "Keyed", backend="command", is_default=True, secret_env={"API_KEY": SECRET}
        )
    with pytest.raises(LifespanError, match=r"account\(s\) \(Keyed\) cannot be decrypted"):
        async with make_app(SECRET_KEY="new-secret-key").test_app():
            pass
    old_key_file = tmp_path / "old.key"
    old_key_file.write_text("old-secret-key\n")
    monkeypatch.setenv("AGENTED_ENV_FILE", str(tmp_path / "none.env"))
    use_the_apps_database(monkeypatch, app_overrides)
    monkeypatch.setenv("SECRET_KEY", "new-secret-key")
    # A command-line program: it runs its own event loop, so not on the test's.
    assert await asyncio.to_thread(rekey_main, ["--old-key-file", str(old_key_file)]) == 0
    rekeyed = make_app(SECRET_KEY="new-secret-key")
    async with rekeyed.test_app():
        client = rekeyed.test_client()
        execution = await run_to_end(client, await command_bot(client))
        assert log_lines(execution)[1] == SECRET_DIGEST
