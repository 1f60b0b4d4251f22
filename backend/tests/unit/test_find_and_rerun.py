"""Finding runs (filters, pages, validation), numbering them per bot, running them again,
and what a run's page shows of what fired it (secrets redacted)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agented.executions.inputs import REDACTED, is_secret_key, redact, summarize
from agented.paths import migrations_dir
from agented.runtime import runtime_of
from agented.storage import migrate
from agented.storage.sqlite import SqliteDatabase

from ..support.bots import BOTS, make_bot, put_fakes_on_path
from ..support.sse import stream_events


@pytest.fixture(autouse=True)
def fake_clis_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    put_fakes_on_path(monkeypatch)


async def echo_bot(client, **fields: Any) -> dict[str, Any]:
    return await make_bot(
        client, "say {message}", backend_type="command", command=["echo", "{prompt}"], **fields
    )


async def run(client, bot: dict[str, Any], message: str = "") -> str:
    response = await client.post(f"{BOTS}/{bot['id']}/run", json={"message": message})
    assert response.status_code == 202, await response.get_json()
    execution_id: str = (await response.get_json())["execution_id"]
    await stream_events(client, execution_id)  # returns once the run ended
    return execution_id


async def listed(client, **query: Any) -> dict[str, Any]:
    response = await client.get("/admin/executions", query_string=query)
    assert response.status_code == 200, await response.get_json()
    return await response.get_json()


async def test_each_bot_numbers_its_runs_and_each_row_shows_its_input(client) -> None:
    first, second = await echo_bot(client), await echo_bot(client)
    await run(client, first, "one")
    await run(client, second, "other")
    await run(client, first, "two\nlines")
    rows = (await listed(client))["executions"]
    assert [(row["bot_id"], row["run_number"]) for row in rows] == [
        (first["id"], 2),
        (second["id"], 1),
        (first["id"], 1),
    ]
    assert rows[0]["input_summary"] == "two lines"


async def test_the_list_filters_by_status_bot_trigger_type_text_and_date(client) -> None:
    bot, other = await echo_bot(client), await echo_bot(client)
    wanted = await run(client, bot, "find the needle here")
    await run(client, bot, "nothing")
    await run(client, other, "another NEEDLE")
    assert [
        row["id"] for row in (await listed(client, q="needle", bot_id=bot["id"]))["executions"]
    ] == [wanted]
    assert (await listed(client, q="NEEDLE"))["total"] == 2
    assert (await listed(client, trigger_type="manual"))["total"] == 3
    assert (await listed(client, trigger_type="webhook"))["total"] == 0
    assert (await listed(client, status="success", bot_id=other["id"]))["total"] == 1
    assert (await listed(client, since="2000-01-01", until="2000-01-02"))["total"] == 0
    assert (await listed(client, since="2000-01-01T00:00:00+02:00"))["total"] == 3


async def test_pages_follow_offset_and_limit_newest_first(client) -> None:
    bot = await echo_bot(client)
    ids = [await run(client, bot, str(number)) for number in range(5)]
    page = await listed(client, limit=2, offset=2)
    assert [row["id"] for row in page["executions"]] == [ids[2], ids[1]]
    assert (page["total"], page["limit"], page["offset"]) == (5, 2, 2)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "finished"}, "status"),
        ({"trigger_type": "email"}, "trigger_type"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-01"}, "until"),
        ({"since": "2026-02-02", "until": "2026-02-01"}, "until"),
        ({"limit": "0"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"q": "x" * 1001}, "q"),
        ({"stauts": "success"}, "stauts"),
    ],
)
async def test_a_bad_list_parameter_is_a_400_naming_it(client, query, field) -> None:
    response = await client.get("/admin/executions", query_string=query)
    assert response.status_code == 400
    body = await response.get_json()
    assert body["field"] == field, body
    assert body["error"].startswith(f"{field}:"), body


async def test_a_rerun_starts_the_same_input_again_linked_to_the_original(client) -> None:
    bot = await echo_bot(client)
    original = await run(client, bot, "hello again")
    response = await client.post(f"/admin/executions/{original}/rerun", json={})
    assert response.status_code == 202
    rerun_id = (await response.get_json())["execution_id"]
    await stream_events(client, rerun_id)
    rerun = await (await client.get(f"/admin/executions/{rerun_id}")).get_json()
    assert (rerun["trigger_type"], rerun["rerun_of"], rerun["run_number"]) == ("rerun", original, 2)
    assert rerun["prompt"] == "say hello again"
    assert [line["content"] for line in rerun["logs"]] == ["say hello again"]
    assert [link["id"] for link in rerun["lineage"]] == [original]


async def test_run_with_edits_the_message_before_running_again(client) -> None:
    bot = await echo_bot(client)
    original = await run(client, bot, "first words")
    response = await client.post(
        f"/admin/executions/{original}/rerun", json={"message": "second words"}
    )
    assert response.status_code == 202
    rerun_id = (await response.get_json())["execution_id"]
    await stream_events(client, rerun_id)
    rerun = await (await client.get(f"/admin/executions/{rerun_id}")).get_json()
    assert rerun["prompt"] == "say second words"
    assert rerun["input"]["message"] == "second words"
    assert rerun["trigger_details"]["edited"] == ["message"]


async def test_a_rerun_of_an_unknown_or_running_execution_is_refused(client) -> None:
    missing = await client.post("/admin/executions/exe_missing/rerun", json={})
    assert missing.status_code == 404
    slow = await make_bot(client, "fake: sleep 30", backend_type="codex")
    started = await client.post(f"{BOTS}/{slow['id']}/run", json={"message": ""})
    execution_id = (await started.get_json())["execution_id"]
    busy = await client.post(f"/admin/executions/{execution_id}/rerun", json={})
    assert busy.status_code == 409
    assert "still" in (await busy.get_json())["error"]
    await client.post(f"/admin/executions/{execution_id}/cancel")
    await stream_events(client, execution_id)


async def test_a_rerun_refuses_unknown_fields_by_name(client) -> None:
    bot = await echo_bot(client)
    original = await run(client, bot, "x")
    response = await client.post(f"/admin/executions/{original}/rerun", json={"mesage": "y"})
    assert response.status_code == 400
    assert (await response.get_json())["field"] == "mesage"


async def test_a_webhook_run_shows_its_payload_redacted_and_its_delivery_id(client) -> None:
    bot = await make_bot(
        client,
        "got {message}",
        backend_type="command",
        command=["echo", "{prompt}"],
        trigger_source="webhook",
    )
    payload = {"text": "deploy", "api_key": "sk-123", "nested": {"Authorization": "Bearer x"}}
    response = await client.post(
        f"/api/webhooks/bots/{bot['id']}", json=payload, headers={"X-Delivery-Id": "dlv-7"}
    )
    assert response.status_code == 202
    [execution_id] = (await response.get_json())["execution_ids"]
    await stream_events(client, execution_id)
    shown = await (await client.get(f"/admin/executions/{execution_id}")).get_json()
    assert shown["input"]["payload"] == {
        "text": "deploy",
        "api_key": REDACTED,
        "nested": {"Authorization": REDACTED},
    }
    assert shown["trigger_details"] == {"delivery_id": "dlv-7", "source": "bot"}
    assert shown["input_summary"] == "deploy"
    # The re-run gets the payload as it came, secrets included: the template may use them.
    rerun = await client.post(f"/admin/executions/{execution_id}/rerun", json={})
    assert rerun.status_code == 202


def test_the_redaction_rule_hides_secret_words_and_spares_look_alikes() -> None:
    for key in (
        "token",
        "api_key",
        "apiKey",
        "X-Hub-Signature-256",
        "client_secret",
        "Authorization",
        "password",
        "APIKEY",
        "private-key",
    ):
        assert is_secret_key(key), key
    for key in ("author", "keyword", "monkey", "pr_author", "tokens_used_count", "text"):
        assert not is_secret_key(key), key
    assert redact([{"token": {"deep": 1}}, "plain"]) == [{"token": REDACTED}, "plain"]


def test_a_summary_is_the_message_else_the_payload_redacted() -> None:
    assert summarize({"message": "  hi\n there "}) == "hi there"
    assert summarize({"message": "", "payload": {"event": "push", "token": "t"}}) == (
        '{"event": "push", "token": "[redacted]"}'
    )
    assert summarize({"scheduled_at": "2026-01-01"}) == '{"scheduled_at": "2026-01-01"}'
    assert len(summarize({"message": "x" * 1000})) == 200


async def test_the_migration_numbers_old_runs_per_bot_in_creation_order(tmp_path: Path) -> None:
    before = tmp_path / "before"
    before.mkdir()
    for migration in migrations_dir("sqlite").glob("*.sql"):
        if int(migration.name[:4]) < 11:  # the schema before runs were numbered
            (before / migration.name).write_text(migration.read_text())
    database = await SqliteDatabase.open(tmp_path / "old.db")
    try:
        await migrate(database, before)
        statements = [
            "INSERT INTO bots (id, name, name_key, prompt_template, backend_type, trigger_source,"
            " enabled, output_format, paths, timeout_seconds, sigterm_grace_seconds,"
            " allow_concurrent_runs, created_at, updated_at) VALUES ('bot_a', 'A', 'a', 'x',"
            " 'claude', 'manual', 1, 'json', '[]', 600, 10, 0, '2026-01-01', '2026-01-01')",
        ]
        for seq, bot_id, name in [
            (1, "'bot_a'", "A"),
            (2, "NULL", "Gone"),
            (3, "'bot_a'", "A"),
            (4, "NULL", "Gone"),
            (5, "NULL", "Other"),
        ]:
            statements.append(
                "INSERT INTO executions (id, seq, bot_id, bot_name, trigger_type, status,"
                f" backend_type, prompt, command, created_at) VALUES ('exe_{seq}', {seq},"
                f" {bot_id}, '{name}', 'manual', 'success', 'claude', '', '[]', '2026-01-01')"
            )
        for statement in statements:
            await database.write(lambda connection, sql=statement: connection.execute(sql))
        await migrate(database, migrations_dir("sqlite"))

        def numbers(connection) -> list[tuple[str, int]]:
            rows = connection.execute("SELECT id, run_number FROM executions ORDER BY seq")
            return [tuple(row) for row in rows]

        assert await database.read(numbers) == [
            ("exe_1", 1),
            ("exe_2", 1),
            ("exe_3", 2),
            ("exe_4", 2),
            ("exe_5", 1),
        ]
        counter = await database.read(
            lambda connection: connection.execute(
                "SELECT runs_numbered FROM bots WHERE id = 'bot_a'"
            ).fetchone()[0]
        )
        assert counter == 2
    finally:
        await database.close()


@pytest.mark.parametrize(
    ("fields", "cron"),
    [
        ({"schedule_type": "daily", "schedule_time": "09:05"}, "5 9 * * *"),
        ({"schedule_type": "weekly", "schedule_time": "23:00", "schedule_day": 6}, "0 23 * * 0"),
        ({"schedule_type": "monthly", "schedule_time": "00:30", "schedule_day": 28}, "30 0 28 * *"),
        ({"schedule_type": "cron", "cron_expression": "*/5 * * * 1-5"}, "*/5 * * * 1-5"),
    ],
)
async def test_a_scheduled_bot_shows_its_schedule_as_a_cron_expression(
    client, fields: dict[str, Any], cron: str
) -> None:
    bot = await echo_bot(client, trigger_source="scheduled", schedule_timezone="UTC", **fields)
    assert bot["schedule_cron"] == cron


async def test_a_scheduled_run_records_its_schedule_as_cron_with_its_zone(
    serving_app, client
) -> None:
    bot = await echo_bot(
        client,
        trigger_source="scheduled",
        schedule_type="weekly",
        schedule_time="07:30",
        schedule_day=0,
        schedule_timezone="Europe/Paris",
    )
    await runtime_of(serving_app).scheduled_triggers._fire(bot["id"])
    [execution] = (await listed(client, bot_id=bot["id"]))["executions"]
    await stream_events(client, execution["id"])
    details = execution["trigger_details"]
    assert (details["schedule"], details["timezone"]) == ("30 7 * * 1", "Europe/Paris")
    assert execution["input_summary"].startswith('{"scheduled_at": ')
