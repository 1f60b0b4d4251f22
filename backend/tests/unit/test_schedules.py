"""Scheduled bots on the AsyncIOScheduler, rescheduling, housekeeping and the jobs list."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from apscheduler.triggers.date import DateTrigger

from agented.models import iso
from agented.runtime import runtime_of
from agented.scheduler import SchedulerService
from agented.triggers.schedules import build_trigger, default_timezone

from ..support.bots import BOTS, make_bot, put_fakes_on_path
from ..support.sse import stream_events


@pytest.fixture(autouse=True)
def fake_clis_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    put_fakes_on_path(monkeypatch)


async def scheduled_bot(client, **schedule: Any) -> dict[str, Any]:
    return await make_bot(
        client, "fake: exit 0", backend_type="codex", trigger_source="scheduled", **schedule
    )


def expected_next(**schedule: Any) -> datetime:
    """APScheduler's own arithmetic for the next fire time after now."""
    trigger = build_trigger(schedule, default_timezone(None))
    return trigger.get_next_fire_time(None, datetime.now(trigger.timezone))


@pytest.mark.parametrize(
    "schedule",
    [
        {"schedule_type": "daily", "schedule_time": "09:30", "schedule_timezone": "Europe/Paris"},
        {
            "schedule_type": "weekly",
            "schedule_time": "23:05",
            "schedule_day": 0,
            "schedule_timezone": "America/New_York",
        },
        {
            "schedule_type": "monthly",
            "schedule_time": "00:00",
            "schedule_day": 28,
            "schedule_timezone": "Asia/Kolkata",
        },
        {
            "schedule_type": "cron",
            "cron_expression": "*/15 9-17 * * 1-5",
            "schedule_timezone": "UTC",
        },
    ],
)
async def test_next_run_is_exposed_with_its_offset(client, schedule: dict[str, Any]) -> None:
    bot = await scheduled_bot(client, **schedule)
    assert bot["next_run_at"] == expected_next(**schedule).isoformat()
    assert datetime.fromisoformat(bot["next_run_at"]).utcoffset() is not None


async def test_weekly_day_zero_is_monday(client) -> None:
    bot = await scheduled_bot(
        client,
        schedule_type="weekly",
        schedule_time="12:00",
        schedule_day=0,
        schedule_timezone="UTC",
    )
    assert datetime.fromisoformat(bot["next_run_at"]).weekday() == 0


async def test_timezone_defaults_to_tz_or_the_host_zone(make_app) -> None:
    assert default_timezone("Pacific/Auckland") == "Pacific/Auckland"
    app = make_app(environ={"TZ": ":Pacific/Auckland"})
    async with app.test_app():
        bot = await scheduled_bot(app.test_client(), schedule_type="daily", schedule_time="08:00")
    assert (
        bot["next_run_at"]
        == expected_next(
            schedule_type="daily", schedule_time="08:00", schedule_timezone="Pacific/Auckland"
        ).isoformat()
    )
    assert default_timezone("Not/AZone") != "Not/AZone"


@pytest.mark.parametrize(
    ("schedule", "field"),
    [
        ({}, "schedule_type"),
        ({"schedule_type": "hourly"}, "schedule_type"),
        ({"schedule_type": "daily"}, "schedule_time"),
        ({"schedule_type": "daily", "schedule_time": "24:00"}, "schedule_time"),
        ({"schedule_type": "daily", "schedule_time": "9:30"}, "schedule_time"),
        ({"schedule_type": "weekly", "schedule_time": "09:00"}, "schedule_day"),
        ({"schedule_type": "weekly", "schedule_time": "09:00", "schedule_day": 7}, "schedule_day"),
        ({"schedule_type": "monthly", "schedule_time": "09:00", "schedule_day": 0}, "schedule_day"),
        (
            {"schedule_type": "monthly", "schedule_time": "09:00", "schedule_day": 29},
            "schedule_day",
        ),
        ({"schedule_type": "cron"}, "cron_expression"),
        ({"schedule_type": "cron", "cron_expression": "* * * *"}, "cron_expression"),
        ({"schedule_type": "cron", "cron_expression": "61 * * * *"}, "cron_expression"),
        (
            {"schedule_type": "daily", "schedule_time": "09:00", "schedule_timezone": "Mars/Base"},
            "schedule_timezone",
        ),
    ],
)
async def test_invalid_schedules_are_400_naming_the_field(client, schedule, field: str) -> None:
    response = await client.post(
        BOTS,
        json={"name": "s", "prompt_template": "p", "trigger_source": "scheduled", **schedule},
    )
    assert response.status_code == 400
    body = await response.get_json()
    assert body["field"] == field, body
    assert (await (await client.get(BOTS)).get_json())["triggers"] == []


async def test_changes_reschedule_at_once(serving_app, client) -> None:
    jobs = runtime_of(serving_app).scheduler
    bot = await scheduled_bot(
        client, schedule_type="daily", schedule_time="06:00", schedule_timezone="UTC"
    )
    job = f"bot:{bot['id']}"
    assert jobs.next_run_time(job) == bot["next_run_at"]

    moved = await (
        await client.put(f"{BOTS}/{bot['id']}", json={"schedule_time": "18:45"})
    ).get_json()
    assert (
        moved["next_run_at"]
        == expected_next(
            schedule_type="daily", schedule_time="18:45", schedule_timezone="UTC"
        ).isoformat()
    )
    assert jobs.next_run_time(job) == moved["next_run_at"]

    disabled = await (await client.put(f"{BOTS}/{bot['id']}", json={"enabled": False})).get_json()
    assert disabled["next_run_at"] is None
    assert jobs.next_run_time(job) is None
    enabled = await (await client.put(f"{BOTS}/{bot['id']}", json={"enabled": True})).get_json()
    assert enabled["next_run_at"] == moved["next_run_at"]

    manual = await (
        await client.put(f"{BOTS}/{bot['id']}", json={"trigger_source": "manual"})
    ).get_json()
    assert manual["next_run_at"] is None
    await client.put(f"{BOTS}/{bot['id']}", json={"trigger_source": "scheduled"})
    assert jobs.next_run_time(job) is not None
    assert (await client.delete(f"{BOTS}/{bot['id']}")).status_code == 204
    assert jobs.next_run_time(job) is None


async def test_invalid_update_leaves_the_schedule(client) -> None:
    bot = await scheduled_bot(
        client, schedule_type="daily", schedule_time="06:00", schedule_timezone="UTC"
    )
    response = await client.put(f"{BOTS}/{bot['id']}", json={"schedule_type": "weekly"})
    assert response.status_code == 400
    assert (await response.get_json())["field"] == "schedule_day"
    assert await (await client.get(f"{BOTS}/{bot['id']}")).get_json() == bot


async def test_schedules_are_rebuilt_at_startup(make_app) -> None:
    first = make_app()
    async with first.test_app():
        bot = await scheduled_bot(
            first.test_client(),
            schedule_type="cron",
            cron_expression="0 4 * * *",
            schedule_timezone="UTC",
        )
    second = make_app()
    async with second.test_app():
        jobs = (await (await second.test_client().get("/admin/scheduler/jobs")).get_json())["jobs"]
    [job] = [job for job in jobs if job["id"] == f"bot:{bot['id']}"]
    assert job["trigger_id"] == bot["id"]
    assert job["next_run_time"] == bot["next_run_at"]


async def test_jobs_list_includes_housekeeping(client) -> None:
    jobs = (await (await client.get("/admin/scheduler/jobs")).get_json())["jobs"]
    ids = {job["id"] for job in jobs}
    assert {"housekeeping:deliveries", "housekeeping:retention"} <= ids
    assert all(datetime.fromisoformat(job["next_run_time"]) for job in jobs)


async def test_a_job_really_fires_on_the_running_loop() -> None:
    scheduler = SchedulerService()
    scheduler.start()
    fired = asyncio.Event()
    loop = asyncio.get_running_loop()

    async def job() -> None:
        assert asyncio.get_running_loop() is loop
        fired.set()

    try:
        when = datetime.now(UTC) + timedelta(milliseconds=200)
        scheduler.schedule("soon", DateTrigger(run_date=when), job, name="soon")
        async with asyncio.timeout(1.0):
            await fired.wait()
    finally:
        await scheduler.stop()


async def test_a_fired_schedule_starts_a_scheduled_execution(serving_app, client) -> None:
    bot = await scheduled_bot(
        client, schedule_type="daily", schedule_time="06:00", schedule_timezone="UTC"
    )
    await runtime_of(serving_app).scheduled_triggers._fire(bot["id"])
    executions = (await (await client.get(f"{BOTS}/{bot['id']}/executions")).get_json())[
        "executions"
    ]
    assert [e["trigger_type"] for e in executions] == ["scheduled"]
    await stream_events(client, executions[0]["id"])


async def test_a_schedule_firing_during_a_run_is_skipped_and_recorded(serving_app, client) -> None:
    bot = await make_bot(
        client,
        "fake: sleep 60",
        backend_type="codex",
        trigger_source="scheduled",
        schedule_type="daily",
        schedule_time="06:00",
        schedule_timezone="UTC",
    )
    services = runtime_of(serving_app)
    await services.scheduled_triggers._fire(bot["id"])
    await services.scheduled_triggers._fire(bot["id"])
    executions = (await (await client.get(f"{BOTS}/{bot['id']}/executions")).get_json())[
        "executions"
    ]
    assert len(executions) == 1
    skips = (await (await client.get("/admin/scheduler/skips")).get_json())["skips"]
    assert [skip["trigger_id"] for skip in skips] == [bot["id"]]
    assert "already running" in skips[0]["reason"]
    await client.post(f"/admin/executions/{executions[0]['id']}/cancel")
    await stream_events(client, executions[0]["id"])


async def test_retention_deletes_only_old_finished_executions(serving_app, client) -> None:
    bot = await make_bot(client, "fake: lines 3\nfake: exit 0", backend_type="codex")
    response = await client.post(f"{BOTS}/{bot['id']}/run", json={})
    execution_id = (await response.get_json())["execution_id"]
    await stream_events(client, execution_id)
    services = runtime_of(serving_app)

    async def stored_lines() -> int:
        lines, _ = await services.execution_store.read_lines(execution_id, 0, 100, max_chars=10**6)
        return len(lines)

    assert await stored_lines() > 0
    assert (
        await services.execution_store.delete_finished_before(
            iso(datetime.now(UTC) - timedelta(days=1))
        )
        == 0
    )
    assert (
        await services.execution_store.delete_finished_before(
            iso(datetime.now(UTC) + timedelta(seconds=1))
        )
        == 1
    )
    assert (await client.get(f"/admin/executions/{execution_id}")).status_code == 404
    assert await stored_lines() == 0, "its lines went with it"
