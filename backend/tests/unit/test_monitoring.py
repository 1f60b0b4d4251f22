"""Monitoring: figures from known executions, the history's buckets and snapshots, /metrics."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from quart import Quart

from agented.models import iso, new_id, utc_now
from agented.monitoring.service import MonitoringService
from agented.runtime import Runtime, runtime_of
from agented.storage import Connection

from ..support.bots import make_bot
from ..support.keys import TEST_API_KEY
from ..support.sse import stream_events

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)  # a Monday noon, mid-month


def services(app: Quart) -> Runtime:
    found = runtime_of(app)
    assert found is not None
    return found


def monitoring(app: Quart) -> MonitoringService:
    return services(app).monitoring


async def insert(
    app: Quart,
    bot: dict[str, Any],
    status: str,
    created: datetime,
    *,
    ended: datetime | None = None,
    account_id: str | None = None,
    tokens: tuple[int, int] | None = None,
    cost: float | None = None,
    error: str | None = None,
) -> str:
    """Store an execution as the run service would have left it."""
    execution_id = new_id("exe")
    usage = None
    if tokens is not None or cost is not None:
        input_tokens, output_tokens = tokens or (None, None)
        usage = json.dumps(
            {"input_tokens": input_tokens, "output_tokens": output_tokens, "total_cost_usd": cost}
        )
    row = (
        execution_id,
        bot["id"],
        bot["name"],
        status,
        iso(created),
        None if ended is None else iso(ended),
        usage,
        error,
        account_id,
    )

    def write(connection: Connection) -> None:
        connection.execute(
            "INSERT INTO executions (seq, id, bot_id, bot_name, trigger_type, status,"
            " backend_type, prompt, command, created_at, finished_at, usage, error_message,"
            " account_id) VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM executions),"
            " ?, ?, ?, 'manual', ?, 'command', 'p', '[\"echo\"]', ?, ?, ?, ?, ?)",
            row,
        )

    await services(app).database.write(write)
    return execution_id


async def make_account(client, name: str, **fields: Any) -> dict[str, Any]:
    body = {"name": name, "backend": "codex", **fields}
    response = await client.post("/admin/accounts", json=body)
    assert response.status_code == 201
    account: dict[str, Any] = await response.get_json()
    return account


def ran(at: datetime, minutes: int = 1) -> dict[str, datetime]:
    return {"ended": at + timedelta(minutes=minutes)}


# The status


async def test_the_status_counts_active_runs_by_status_including_ones_this_version_lacks(
    serving_app: Quart, client
) -> None:
    bot = await make_bot(client, "p", backend_type="command", command=["echo"])
    for status in ("running", "queued", "queued", "waiting", "success", "budget_exceeded"):
        await insert(serving_app, bot, status, NOW - timedelta(minutes=5))

    status = await monitoring(serving_app).status(NOW)

    assert (status.running, status.queued, status.waiting) == (1, 2, 1)
    assert status.by_status["budget_exceeded"] == 1, "a stored status is counted, known or not"
    assert status.by_status["timeout"] == 0, "every known status is listed"
    assert [run.status for run in status.active] == ["running", "queued", "queued", "waiting"]


async def test_each_account_shows_its_state_and_its_use_today_and_this_month_in_utc(
    serving_app: Quart, client
) -> None:
    bot = await make_bot(client, "p", backend_type="command", command=["echo"])
    work, idle = await make_account(client, "Work"), await make_account(client, "Idle")
    today = NOW - timedelta(hours=2)
    this_month = datetime(2026, 6, 2, 8, 0, tzinfo=UTC)
    last_month = datetime(2026, 5, 31, 23, 0, tzinfo=UTC)
    on_work = {"account_id": work["id"]}
    await insert(
        serving_app, bot, "success", today, **ran(today), **on_work, tokens=(100, 20), cost=0.5
    )
    await insert(
        serving_app,
        bot,
        "failed",
        today,
        **ran(today),
        **on_work,
        tokens=(10, 5),
        error="rate limited: Claude usage limit reached (5-hour)",
    )
    await insert(serving_app, bot, "success", this_month, **ran(this_month), **on_work, cost=1.25)
    await insert(serving_app, bot, "success", last_month, **ran(last_month), **on_work, cost=9.0)
    await insert(serving_app, bot, "running", NOW, **on_work)
    limited_until = iso(utc_now() + timedelta(hours=3))
    await services(serving_app).account_store.update(
        work["id"], {"limited_until": limited_until, "limited_reason": "Claude usage limit"}
    )

    accounts = {
        account.name: account for account in (await monitoring(serving_app).status(NOW)).accounts
    }

    assert accounts["Work"].state == "limited"
    assert accounts["Work"].limited_until == limited_until
    assert accounts["Work"].limited_reason == "Claude usage limit"
    today_use, month_use = accounts["Work"].today, accounts["Work"].month
    assert (today_use.runs, today_use.tokens, today_use.cost_usd, today_use.rate_limits) == (
        3,
        135,
        0.5,
        1,
    )
    assert (month_use.runs, month_use.tokens, month_use.cost_usd, month_use.rate_limits) == (
        4,
        135,
        1.75,
        1,
    )
    assert accounts["Idle"].state == "available"
    assert accounts["Idle"].month.runs == 0
    assert accounts["Idle"].id == idle["id"]
    assert accounts["Work"].limits.model_dump() == {
        "daily_usd_limit": None,
        "monthly_usd_limit": None,
        "daily_token_limit": None,
        "monthly_token_limit": None,
    }, "no limits are configured"


async def test_each_bot_shows_its_runs_and_success_rate_over_a_day_and_a_week(
    serving_app: Quart, client
) -> None:
    busy = await make_bot(client, "p", backend_type="command", command=["echo"], name="busy")
    quiet = await make_bot(client, "p", backend_type="command", command=["echo"], name="quiet")
    hour_ago, three_days_ago = NOW - timedelta(hours=1), NOW - timedelta(days=3)
    await insert(serving_app, busy, "success", hour_ago, **ran(hour_ago))
    await insert(serving_app, busy, "failed", hour_ago, **ran(hour_ago))
    await insert(serving_app, busy, "cancelled", hour_ago, **ran(hour_ago))  # not judged
    await insert(serving_app, busy, "running", hour_ago)  # not ended: not judged
    await insert(serving_app, busy, "success", three_days_ago, **ran(three_days_ago))
    await insert(serving_app, busy, "timeout", three_days_ago, **ran(three_days_ago))
    await insert(
        serving_app, busy, "success", NOW - timedelta(days=8), **ran(NOW - timedelta(days=8))
    )

    bots = {bot.bot_name: bot for bot in (await monitoring(serving_app).status(NOW)).bots}

    assert (bots["busy"].runs_24h, bots["busy"].success_rate_24h) == (4, 0.5)
    assert (bots["busy"].runs_7d, bots["busy"].success_rate_7d) == (6, 0.5)
    assert (bots["quiet"].runs_7d, bots["quiet"].success_rate_7d) == (0, None)
    assert quiet["id"] == bots["quiet"].bot_id


async def test_the_status_route_answers_with_the_figures(serving_app: Quart, client) -> None:
    bot = await make_bot(client, "p", backend_type="command", command=["echo"])
    await insert(serving_app, bot, "queued", utc_now())
    response = await client.get("/admin/monitoring/status")
    assert response.status_code == 200
    body = await response.get_json()
    assert body["queued"] == 1
    assert body["active"][0]["bot_id"] == bot["id"]
    assert body["bots"][0]["runs_24h"] == 1


# The history


async def test_the_history_sums_what_ended_per_bucket_with_every_bucket_present(
    serving_app: Quart, client
) -> None:
    bot = await make_bot(client, "p", backend_type="command", command=["echo"])
    at_nine, at_ten = NOW.replace(hour=9, minute=10), NOW.replace(hour=10, minute=50)
    await insert(serving_app, bot, "success", at_nine, ended=at_nine, tokens=(7, 3), cost=0.25)
    await insert(serving_app, bot, "failed", at_nine, ended=at_nine, error="rate limited: 429")
    await insert(serving_app, bot, "cancelled", at_ten, ended=at_ten)
    await insert(serving_app, bot, "running", at_ten)  # not ended: in no bucket

    history = await monitoring(serving_app).history(6, "1h", NOW)

    assert [point.start for point in history.points] == [
        iso(NOW.replace(hour=hour)) for hour in range(6, 13)
    ]
    by_hour = {point.start[11:13]: point for point in history.points}
    assert (by_hour["09"].runs, by_hour["09"].failures, by_hour["09"].rate_limits) == (2, 1, 1)
    assert (by_hour["09"].tokens, by_hour["09"].cost_usd) == (10, 0.25)
    assert (by_hour["10"].runs, by_hour["10"].failures) == (1, 0), "a cancel is not a failure"
    assert by_hour["08"].runs == 0


async def test_day_buckets_start_at_midnight_utc(serving_app: Quart, client) -> None:
    bot = await make_bot(client, "p", backend_type="command", command=["echo"])
    late = datetime(2026, 6, 13, 23, 59, tzinfo=UTC)
    await insert(serving_app, bot, "success", late, ended=late)
    await insert(serving_app, bot, "success", late, ended=late + timedelta(minutes=2))

    history = await monitoring(serving_app).history(72, "1d", NOW)

    assert [(point.start[:10], point.runs) for point in history.points] == [
        ("2026-06-12", 0),
        ("2026-06-13", 1),
        ("2026-06-14", 1),
        ("2026-06-15", 0),
    ]


async def test_snapshots_keep_the_history_after_the_executions_are_deleted(
    serving_app: Quart, client
) -> None:
    bot = await make_bot(client, "p", backend_type="command", command=["echo"])
    earlier = NOW - timedelta(hours=3)
    await insert(serving_app, bot, "success", earlier, ended=earlier, tokens=(1, 1))
    await insert(serving_app, bot, "failed", earlier, ended=earlier)
    assert await monitoring(serving_app).take_snapshot(NOW) == 1, "one slot holds runs"

    await services(serving_app).database.write(
        lambda connection: connection.execute("DELETE FROM executions")
    )

    history = await monitoring(serving_app).history(6, "1h", NOW)
    assert sum(point.runs for point in history.points) == 2
    assert sum(point.failures for point in history.points) == 1
    assert sum(point.tokens for point in history.points) == 2


async def test_a_run_that_ends_just_before_a_snapshot_is_counted_once_by_the_next(
    serving_app: Quart, client
) -> None:
    bot = await make_bot(client, "p", backend_type="command", command=["echo"])
    service = monitoring(serving_app)
    await insert(
        serving_app, bot, "success", NOW - timedelta(hours=1), ended=NOW - timedelta(hours=1)
    )
    await service.take_snapshot(NOW)
    # committed after the snapshot read, with an end time before it
    await insert(serving_app, bot, "success", NOW, ended=NOW - timedelta(seconds=30))

    def total(history: Any) -> int:
        return sum(point.runs for point in history.points)

    assert total(await service.history(2, "5m", NOW)) == 2, "read live before the next snapshot"
    later = NOW + timedelta(minutes=5)
    await service.take_snapshot(later)
    await service.take_snapshot(later)
    assert total(await service.history(2, "5m", later)) == 2, "and once after it"


async def test_snapshots_older_than_the_retention_are_pruned(make_app) -> None:
    app = make_app(AGENTED_MONITORING_RETENTION_DAYS=7)
    async with app.test_app():
        keyed = app.test_client()
        bot = await make_bot(keyed, "p", backend_type="command", command=["echo"])
        old, recent = NOW - timedelta(days=10), NOW - timedelta(days=2)
        await insert(app, bot, "success", old, ended=old)
        await insert(app, bot, "success", recent, ended=recent)
        service = monitoring(app)
        await service.take_snapshot(old + timedelta(hours=1))
        assert await service.take_snapshot(NOW) == 1, "the recent slot"

        assert await service.prune(NOW) == 1, "the slot ten days old"

        history = await service.history(24 * 11, "1d", NOW)
        assert sum(point.runs for point in history.points) == 1


async def test_the_snapshot_and_prune_jobs_are_on_the_scheduler(client) -> None:
    jobs = (await (await client.get("/admin/scheduler/jobs")).get_json())["jobs"]
    ids = {job["id"] for job in jobs}
    assert {"monitoring:snapshot", "monitoring:prune"} <= ids


async def test_history_queries_are_bounded_and_a_bad_one_names_its_field(client) -> None:
    ok = await client.get("/admin/monitoring/history?hours=48&bucket=6h")
    assert ok.status_code == 200
    body = await ok.get_json()
    assert (body["hours"], body["bucket"], len(body["points"])) == (48, "6h", 9)
    for query, field in [
        ("hours=0", "hours"),
        ("hours=100000", "hours"),
        ("hours=soon", "hours"),
        ("bucket=7m", "bucket"),
        ("hours=720&bucket=5m", "bucket"),
    ]:
        response = await client.get(f"/admin/monitoring/history?{query}")
        assert response.status_code == 400, query
        error = await response.get_json()
        assert error["error"].startswith(f"{field}:"), (query, error)


# /metrics


def metric_values(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_metrics_are_the_figures_in_the_prometheus_text_format(
    serving_app: Quart, client
) -> None:
    bot = await make_bot(client, "p", backend_type="command", command=["echo", "{prompt}"])
    account = await make_account(client, "Work", daily_usd_limit=5, monthly_token_limit=1000)
    response = await client.post(f"/admin/bots/{bot['id']}/run", json={"message": "hello"})
    execution_id = (await response.get_json())["execution_id"]
    await stream_events(client, execution_id)  # until it ends
    now = utc_now()
    on_work = {"account_id": account["id"]}
    await insert(serving_app, bot, "waiting", now, **on_work)
    await insert(serving_app, bot, "failed", now, ended=now, error="rate limited: 429", **on_work)
    await insert(serving_app, bot, "success", now, ended=now, tokens=(30, 12), cost=0.75, **on_work)

    response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    values = metric_values(await response.get_data(as_text=True))
    assert values[("agented_executions", (("status", "success"),))] == 2
    assert values[("agented_executions", (("status", "waiting"),))] == 1
    assert values[("agented_executions_waiting", ())] == 1
    assert values[("agented_executions_running", ())] == 0
    work = (("account", "Work"), ("account_id", account["id"]))
    for period in ("today", "month"):
        labels = tuple(sorted((*work, ("period", period))))
        assert values[("agented_account_runs", labels)] == 3
        assert values[("agented_account_rate_limits", labels)] == 1
        assert values[("agented_account_tokens", labels)] == 42
        assert values[("agented_account_cost_usd", labels)] == 0.75
    assert values[("agented_account_limited", work)] == 0
    assert values[("agented_sse_subscribers", ())] == 0
    assert values[("agented_log_lines_ingested_total", ())] >= 1, "the echo run's line"
    configured = {
        dict(labels)["limit"]: value
        for (name, labels), value in values.items()
        if name == "agented_account_limit"
    }
    assert configured == {"daily_usd_limit": 5, "monthly_token_limit": 1000}, "those set only"


async def test_metrics_need_the_api_key_by_default(client) -> None:
    assert (await client.get("/metrics", headers={"X-API-Key": ""})).status_code == 401
    assert (await client.get("/metrics")).status_code == 200


async def test_metrics_public_opens_metrics_and_nothing_else(make_app) -> None:
    app = make_app(AGENTED_METRICS_PUBLIC=True)
    async with app.test_app():
        anonymous = {"X-API-Key": ""}
        keyless = app.test_client()
        response = await keyless.get("/metrics", headers=anonymous)
        assert response.status_code == 200
        assert "agented_executions_running" in await response.get_data(as_text=True)
        for path in ("/admin/monitoring/status", "/admin/accounts"):
            assert (await keyless.get(path, headers=anonymous)).status_code == 401, path
        for path in ("/METRICS", "/metrics/x", "/metrics/"):  # the dashboard's, if anything
            other = await keyless.get(path, headers=anonymous)
            assert "agented_executions" not in await other.get_data(as_text=True), path
        keyed = await keyless.get("/metrics", headers={"X-API-Key": TEST_API_KEY})
        assert keyed.status_code == 200
