"""Fallback chains and spend limits: runs go on on the next account, wait for a reset, resume
their session on the same account, and stop at a spend limit, all on fake CLIs' real output.

Time is moved with the account service's clock and the scheduler's job is fired by hand,
so nothing sleeps: a run parked for an hour starts "an hour later" at once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from quart import Quart

from agented.executions.backends import build_command
from agented.executions.output import OutputObserver
from agented.runtime import Runtime, runtime_of

from ..fakes.fake_cli import SESSION_ID
from ..support.bots import BOTS, make_bot, put_fakes_on_path
from ..support.sse import stream_events

ACCOUNTS = "/admin/accounts"
# Each rate-limit format the detector knows, as the fake prints it, and the CLI printing it.
LIMIT_KINDS = [
    ("claude-event", "claude"),
    ("claude-text", "claude"),
    ("claude-hit", "claude"),
    ("claude-429", "claude"),
    ("spend-cap", "claude"),
    ("codex", "codex"),
    ("gemini", "gemini"),
]


@pytest.fixture(autouse=True)
def fake_clis_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    put_fakes_on_path(monkeypatch)


def services(app: Quart) -> Runtime:
    runtime = runtime_of(app)
    assert runtime is not None
    return runtime


async def make_account(
    client, name: str, backend: str, limited_by: str | None = None, **fields: Any
) -> dict[str, Any]:
    """An account; `limited_by` makes the fake CLI print that rate limit on it."""
    env = {"FAKE_RATE_LIMIT": limited_by} if limited_by else {}
    body = {"name": name, "backend": backend, "env": env, **fields}
    response = await client.post(ACCOUNTS, json=body)
    assert response.status_code == 201, await response.get_json()
    account: dict[str, Any] = await response.get_json()
    return account


async def get(client, path: str) -> dict[str, Any]:
    response = await client.get(path)
    assert response.status_code == 200, await response.get_json()
    found: dict[str, Any] = await response.get_json()
    return found


async def start(client, bot: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(f"{BOTS}/{bot['id']}/run", json={"message": ""})
    assert response.status_code == 202, await response.get_json()
    accepted: dict[str, Any] = await response.get_json()
    return accepted


async def ended(client, execution_id: str) -> dict[str, Any]:
    await stream_events(client, execution_id)
    return await get(client, f"/admin/executions/{execution_id}")


async def executions_of(client, bot: dict[str, Any]) -> list[dict[str, Any]]:
    """The bot's executions, oldest first."""
    page = await get(client, f"{BOTS}/{bot['id']}/executions")
    return list(reversed(page["executions"]))


async def run_chain(client, bot: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """Run the bot and follow its fallbacks until `count` executions have ended."""
    execution_id = (await start(client, bot))["execution_id"]
    done = [await ended(client, execution_id)]
    while len(done) < count:
        [following] = [e for e in await executions_of(client, bot) if e["retry_of"] == execution_id]
        execution_id = following["id"]
        done.append(await ended(client, execution_id))
    return done


def lines(execution: dict[str, Any]) -> list[str]:
    return [line["content"] for line in execution["logs"]]


def named(account: dict[str, Any]) -> str:
    return f"{account['name']!r} ({account['id']})"


async def the_waiting_one(client, bot: dict[str, Any]) -> dict[str, Any]:
    [waiting] = [e for e in await executions_of(client, bot) if e["status"] == "waiting"]
    return waiting


def at(moment: str, seconds: float) -> datetime:
    return datetime.fromisoformat(moment) + timedelta(seconds=seconds)


async def fire_parked(app: Quart, execution_id: str, now: datetime) -> None:
    """Let time pass until `now`, and fire the job that wakes the parked execution."""
    runtime = services(app)
    runtime.account_service.clock = lambda: now
    [parked] = [r for r in await runtime.retry_service.pending() if r.execution_id == execution_id]
    await runtime.retry_service._fire(parked.id)


# Fallback along the chain


@pytest.mark.parametrize(("kind", "backend"), LIMIT_KINDS)
async def test_a_rate_limited_run_goes_on_at_once_on_the_next_account(
    client, kind: str, backend: str
) -> None:
    first = await make_account(client, "First", backend, limited_by=kind)
    second = await make_account(client, "Second", backend)
    chain = [first["id"], second["id"]]
    bot = await make_bot(client, "do the work", backend_type=backend, account_chain=chain)
    limited, fallback = await run_chain(client, bot, 2)
    assert limited["status"] == "failed"
    assert limited["error_message"].startswith("rate limited")
    assert limited["account_id"] == first["id"]
    assert (fallback["status"], fallback["trigger_type"]) == ("success", "fallback")
    assert (fallback["retry_of"], fallback["account_id"]) == (limited["id"], second["id"])
    assert (
        f"agented: rate limited on {named(first)}; continues as {fallback['id']} on "
        f"{named(second)}" in lines(limited)
    )
    assert f"agented: continues {limited['id']} (on {named(first)}); runs on {named(second)}" in (
        lines(fallback)
    )
    assert "--resume" not in fallback["command"], "another account: the session starts over"
    shown = await get(client, f"{ACCOUNTS}/{first['id']}")
    assert shown["state"] == "limited"
    assert (await get(client, f"{ACCOUNTS}/{second['id']}"))["state"] == "available"


async def test_a_run_goes_down_a_chain_of_three_accounts_and_the_backend_follows_each(
    client,
) -> None:
    first = await make_account(client, "Claude one", "claude", limited_by="claude-429")
    second = await make_account(client, "Codex", "codex", limited_by="codex")
    third = await make_account(client, "Gemini", "gemini")
    chain = [first["id"], second["id"], third["id"]]
    bot = await make_bot(
        client, "do the work", backend_type="claude", model="opus", account_chain=chain
    )
    runs = await run_chain(client, bot, 3)
    assert [run["status"] for run in runs] == ["failed", "failed", "success"]
    assert [run["account_id"] for run in runs] == chain
    assert [run["backend_type"] for run in runs] == ["claude", "codex", "gemini"]
    assert [run["trigger_type"] for run in runs] == ["manual", "fallback", "fallback"]
    assert [run["retry_of"] for run in runs] == [None, runs[0]["id"], runs[1]["id"]]
    assert "--model" not in runs[1]["command"], "the bot's model is claude's, not codex's"
    assert runs[2]["usage"]["input_tokens"] == 1200, "read as gemini's output"


async def test_a_limited_account_is_skipped_without_being_tried(client) -> None:
    first = await make_account(client, "First", "codex", limited_by="codex")
    second = await make_account(client, "Second", "codex")
    bot = await make_bot(client, "one", backend_type="codex", account_chain=[first["id"]])
    await run_chain(client, bot, 1)
    other = await make_bot(
        client, "two", backend_type="codex", account_chain=[first["id"], second["id"]]
    )
    [execution] = await run_chain(client, other, 1)
    assert (execution["status"], execution["account_id"]) == ("success", second["id"])


# Every account limited: the run waits


async def test_when_every_account_is_limited_the_run_waits_for_the_earliest_reset_then_starts(
    serving_app: Quart, client
) -> None:
    first = await make_account(client, "First", "claude", limited_by="claude-event")
    second = await make_account(client, "Second", "claude", limited_by="claude-text")
    chain = [first["id"], second["id"]]
    bot = await make_bot(client, "do the work", backend_type="claude", account_chain=chain)
    _, last = await run_chain(client, bot, 2)
    waiting = await the_waiting_one(client, bot)
    resets = [(await get(client, f"{ACCOUNTS}/{a}"))["limited_until"] for a in chain]
    assert waiting["not_before"] == min(resets)
    assert (waiting["trigger_type"], waiting["retry_of"]) == ("fallback", last["id"])
    assert "'First'" in waiting["waiting_reason"]
    assert "'Second'" in waiting["waiting_reason"]
    assert f"every account is limited: {waiting['id']} waits until" in "\n".join(lines(last))
    [parked] = (await get(client, "/admin/retries"))["retries"]
    assert (parked["execution_id"], parked["parked"]) == (waiting["id"], True)
    assert parked["due_at"] == waiting["not_before"]
    jobs = {job["id"]: job for job in (await get(client, "/admin/scheduler/jobs"))["jobs"]}
    due = jobs[f"retry:{parked['id']}"]["next_run_time"]
    assert datetime.fromisoformat(due) == datetime.fromisoformat(waiting["not_before"])

    await fire_parked(serving_app, waiting["id"], at(waiting["not_before"], -1))
    still = await get(client, f"/admin/executions/{waiting['id']}")
    assert still["status"] == "waiting", "never tried before the reset"
    assert [r["id"] for r in (await get(client, "/admin/retries"))["retries"]] == [parked["id"]]

    await client.put(f"{ACCOUNTS}/{first['id']}", json={"env": {}})  # its provider lets it in
    await fire_parked(serving_app, waiting["id"], at(waiting["not_before"], 1))
    started = await ended(client, waiting["id"])
    assert (started["status"], started["account_id"]) == ("success", first["id"])
    assert any(line.startswith("agented: waits until") for line in lines(started))
    assert (await get(client, "/admin/retries"))["retries"] == []


async def test_a_parked_run_survives_a_restart_and_starts_at_its_reset(make_app) -> None:
    first = make_app()
    async with first.test_app():
        client = first.test_client()
        account = await make_account(client, "Only", "codex", limited_by="codex")
        bot = await make_bot(
            client, "do the work", backend_type="codex", account_chain=[account["id"]]
        )
        await run_chain(client, bot, 1)
        waiting = await the_waiting_one(client, bot)
    second = make_app()
    async with second.test_app():
        client = second.test_client()
        kept = await get(client, f"/admin/executions/{waiting['id']}")
        assert (kept["status"], kept["not_before"]) == ("waiting", waiting["not_before"])
        [parked] = (await get(client, "/admin/retries"))["retries"]
        assert parked["execution_id"] == waiting["id"]
        jobs = [job["id"] for job in (await get(client, "/admin/scheduler/jobs"))["jobs"]]
        assert f"retry:{parked['id']}" in jobs, "armed again at start-up"
        await client.put(f"{ACCOUNTS}/{account['id']}", json={"env": {}})
        await fire_parked(second, waiting["id"], at(waiting["not_before"], 1))
        started = await ended(client, waiting["id"])
        assert started["status"] == "success"
        assert [line["seq"] for line in started["logs"]] == list(
            range(1, len(started["logs"]) + 1)
        ), "numbered on from the lines it had before the restart"
        assert lines(started)[0].startswith("agented: waits until")


@pytest.mark.parametrize(("kind", "backend"), [("claude-event", "claude"), ("codex", "codex")])
async def test_a_run_that_goes_on_on_the_same_account_resumes_its_session(
    serving_app: Quart, client, kind: str, backend: str
) -> None:
    account = await make_account(client, "Only", backend, limited_by=kind)
    bot = await make_bot(client, "do the work", backend_type=backend, account_chain=[account["id"]])
    [limited] = await run_chain(client, bot, 1)
    assert limited["session_id"] == SESSION_ID
    waiting = await the_waiting_one(client, bot)
    await client.put(f"{ACCOUNTS}/{account['id']}", json={"env": {}})
    await fire_parked(serving_app, waiting["id"], at(waiting["not_before"], 1))
    resumed = await ended(client, waiting["id"])
    assert resumed["status"] == "success"
    command = resumed["command"]
    flag = "--resume" if backend == "claude" else "resume"
    assert command[command.index(flag) + 1] == SESSION_ID
    assert command[-2:] == ["--", "do the work"], "the prompt stays after --"
    assert any(f"resuming session {SESSION_ID}" in line for line in lines(resumed))


def test_the_resume_arguments_are_each_clis_own() -> None:
    claude = build_command("claude", "- a list", resume_session="abc-1")
    assert claude[-4:] == ["--resume", "abc-1", "--", "- a list"]
    codex = build_command("codex", "help", model="o3", resume_session="abc-1")
    assert codex[:2] == ["codex", "exec"]
    assert codex[codex.index("--model") :] == ["--model", "o3", "resume", "abc-1", "--", "help"]


def test_the_session_is_read_from_claudes_init_event_and_codexs_thread() -> None:
    claude = OutputObserver("claude")
    claude.feed("stdout", f'{{"type":"system","subtype":"init","session_id":"{SESSION_ID}"}}')
    assert claude.session_id == SESSION_ID
    codex = OutputObserver("codex")
    codex.feed("stdout", '{"type":"thread.started","thread_id":"019a-77"}')
    assert codex.session_id == "019a-77"
    odd = OutputObserver("claude")
    odd.feed("stdout", '{"type":"system","subtype":"init","session_id":"--help"}')
    assert odd.session_id is None, "only an id's plain shape goes on a command line"


async def test_a_waiting_run_is_cancelled_with_the_retries_or_as_an_execution(client) -> None:
    account = await make_account(client, "Only", "codex", limited_by="codex")
    bot = await make_bot(
        client,
        "do the work",
        backend_type="codex",
        account_chain=[account["id"]],
        allow_concurrent_runs=True,
    )
    await run_chain(client, bot, 1)
    by_retry = await the_waiting_one(client, bot)
    [parked] = (await get(client, "/admin/retries"))["retries"]
    assert (await client.delete(f"/admin/retries/{parked['id']}")).status_code == 204
    cancelled = await get(client, f"/admin/executions/{by_retry['id']}")
    assert (cancelled["status"], cancelled["not_before"]) == ("cancelled", None)

    accepted = await start(client, bot)  # the account is still limited: it waits at once
    assert accepted["status"] == "waiting"
    response = await client.post(f"/admin/executions/{accepted['execution_id']}/cancel")
    assert response.status_code == 202
    assert (await response.get_json())["status"] == "cancelled"
    assert (await get(client, "/admin/retries"))["retries"] == []
    again = await client.post(f"/admin/executions/{accepted['execution_id']}/cancel")
    assert again.status_code == 409


async def test_a_waiting_run_is_its_bots_active_one(client) -> None:
    account = await make_account(client, "Only", "codex", limited_by="codex")
    bot = await make_bot(client, "do the work", backend_type="codex", account_chain=[account["id"]])
    await run_chain(client, bot, 1)
    waiting = await the_waiting_one(client, bot)
    second = await client.post(f"{BOTS}/{bot['id']}/run", json={"message": ""})
    assert second.status_code == 409, "no second parked run to start at the same reset"
    assert (await second.get_json())["execution_id"] == waiting["id"]
    assert (await client.delete(f"{BOTS}/{bot['id']}")).status_code == 409
    assert (await client.post(f"/admin/executions/{waiting['id']}/cancel")).status_code == 202
    again = await start(client, bot)
    assert again["status"] == "waiting", "free to run once the waiting one is cancelled"


# Spend limits


@pytest.mark.parametrize("owner", ["bot", "account"])
async def test_a_run_that_crosses_a_spend_limit_is_stopped_and_keeps_its_output(
    client, owner: str
) -> None:
    limit = {"daily_token_limit": 1000}
    account = await make_account(
        client, "Metered", "codex", is_default=True, **(limit if owner == "account" else {})
    )
    bot = await make_bot(
        client,
        "fake: session\nfake: sleep 120",
        backend_type="codex",
        timeout_seconds=600,
        **(limit if owner == "bot" else {}),
    )
    execution = await ended(client, (await start(client, bot))["execution_id"])
    assert execution["status"] == "budget_exceeded"
    shown = f"'{bot['name']}'" if owner == "bot" else "'Metered'"
    assert execution["error_message"] == (
        f"spend limit reached: {owner} {shown}: daily token limit reached (1242 of 1000)"
    )
    assert execution["duration_ms"] < 60_000, "stopped, not left to sleep"
    assert any('"turn.completed"' in line for line in lines(execution)), "its output is kept"
    assert execution["usage"]["output_tokens"] == 42
    assert execution["account_id"] == account["id"]


async def test_a_run_over_a_spend_limit_waits_until_the_period_resets_with_the_reason(
    client,
) -> None:
    bot = await make_bot(client, "do the work", backend_type="claude")
    spent = await ended(client, (await start(client, bot))["execution_id"])
    assert spent["usage"]["total_cost_usd"] == 0.0123
    await client.put(f"{BOTS}/{bot['id']}", json={"daily_usd_limit": 0.01})
    accepted = await start(client, bot)
    assert accepted["status"] == "waiting"
    waiting = await get(client, f"/admin/executions/{accepted['execution_id']}")
    assert waiting["waiting_reason"] == (
        f"bot '{bot['name']}': daily USD limit reached ($0.01 of $0.01)"
    )
    midnight = (datetime.now(UTC) + timedelta(days=1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    assert datetime.fromisoformat(waiting["not_before"]) == midnight
    [parked] = (await get(client, "/admin/retries"))["retries"]
    assert (parked["reason"], parked["parked"]) == (waiting["waiting_reason"], True)


async def test_an_account_over_its_spend_limit_is_passed_over_for_the_next(client) -> None:
    first = await make_account(client, "First", "claude")
    second = await make_account(client, "Second", "claude")
    bot = await make_bot(client, "do the work", backend_type="claude", account_chain=[first["id"]])
    await run_chain(client, bot, 1)
    await client.put(f"{ACCOUNTS}/{first['id']}", json={"monthly_token_limit": 10})
    await client.put(f"{BOTS}/{bot['id']}", json={"account_chain": [first["id"], second["id"]]})
    [execution] = await run_chain(client, bot, 1)
    assert (execution["status"], execution["account_id"]) == ("success", second["id"])


async def test_a_run_followed_again_after_a_restart_keeps_its_spend_budgets(
    serving_app: Quart, client
) -> None:
    account = await make_account(client, "Metered", "claude", monthly_token_limit=10_000)
    bot = await make_bot(
        client, "do the work", backend_type="claude", account_chain=[account["id"]]
    )
    await client.put(f"{BOTS}/{bot['id']}", json={"daily_usd_limit": 5})
    [execution] = await run_chain(client, bot, 1)
    runtime = services(serving_app)
    stored = await runtime.bot_store.get(bot["id"])
    assert stored is not None

    budgets = await runtime.account_service.budgets_of(stored, account["id"])

    tokens = execution["usage"]["input_tokens"] + execution["usage"]["output_tokens"]
    assert [(budget.owner, budget.spent.month.tokens) for budget in budgets] == [
        (f"bot {bot['name']!r}", tokens),
        ("account 'Metered'", tokens),
    ], "what was spent before, as a newly placed run's budgets hold it"
    assert budgets[1].reached({"input_tokens": 10_000}, runtime.account_service.now()) == (
        f"account 'Metered': monthly token limit reached ({tokens + 10_000} of 10000)"
    )
    unlimited = stored.model_copy(update={"daily_usd_limit": None})
    assert await runtime.account_service.budgets_of(unlimited, None) == ()


# Validation


async def test_a_chain_must_name_existing_accounts_once_each_that_can_run_the_bot(client) -> None:
    account = await make_account(client, "Claude", "claude")
    script = await make_account(client, "Script", "command")
    refused = [
        {"account_chain": ["acc_missing"]},
        {"account_chain": [account["id"], account["id"]]},
        {"account_chain": [script["id"]]},
        {"account_chain": account["id"]},
        {"account_chain": [f"acc_{n}" for n in range(21)]},
        {"daily_usd_limit": -1},
        {"monthly_usd_limit": 0},
        {"daily_token_limit": "100"},
        {"monthly_token_limit": 1.5},
    ]
    for fields in refused:
        body = {"name": "x", "prompt_template": "p", **fields}
        response = await client.post(BOTS, json=body)
        assert response.status_code == 400, fields
        field = next(iter(fields))
        assert field in (await response.get_json())["error"], fields
    bot = await make_bot(client, "p", account_chain=[account["id"]], daily_usd_limit=2)
    assert (bot["account_chain"], bot["daily_usd_limit"]) == ([account["id"]], 2)
    changed = await client.put(f"{BOTS}/{bot['id']}", json={"account_chain": ["acc_missing"]})
    assert changed.status_code == 400
    assert (await changed.get_json())["field"] == "account_chain"
    assert (await client.delete(f"{ACCOUNTS}/{account['id']}")).status_code == 204
    renamed = await client.put(f"{BOTS}/{bot['id']}", json={"name": "renamed"})
    assert renamed.status_code == 200, "a chain naming a deleted account does not block edits"


async def test_account_spend_limits_are_validated_and_shown(client) -> None:
    account = await make_account(
        client, "Metered", "codex", daily_usd_limit=5, monthly_token_limit=10**6
    )
    assert (account["daily_usd_limit"], account["monthly_token_limit"]) == (5, 10**6)
    assert account["monthly_usd_limit"] is None
    bad = await client.post(ACCOUNTS, json={"name": "x", "backend": "codex", "daily_usd_limit": 0})
    assert bad.status_code == 400
    assert "daily_usd_limit" in (await bad.get_json())["error"]
