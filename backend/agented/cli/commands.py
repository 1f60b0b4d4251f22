"""The command line: `agented bots list | run | logs | cancel | executions`, each with `--json`.

Parsing (`build_parser`) is apart from doing (the `cmd_*` functions), so the
parser is unit-tested without a server and the commands against a real one.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .client import ApiClient
from .config import environment as read_environment
from .config import load_config
from .exits import CliError, Exit, run_exit
from .output import duration, notice, print_json, print_log_line, print_table

STATUSES = ("queued", "running", "success", "failed", "timeout", "cancelled", "interrupted")
LOG_PAGE = 1000

Command = Callable[[ApiClient, argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agented",
        description="Drive an Agented server: list bots, run them, follow their logs.",
        epilog="Server and key: AGENTED_URL, AGENTED_API_KEY, or a config file "
        "(AGENTED_CONFIG, default ~/.config/agented/config.toml). Exit codes: see the README.",
    )
    # --json is accepted after any command (`agented bots list --json`), as people type it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--json", action="store_true", help="print JSON (JSON lines when following)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    bots = commands.add_parser("bots", help="the server's bots")
    bots_commands = bots.add_subparsers(dest="bots_command", required=True, metavar="COMMAND")
    bots_list = bots_commands.add_parser("list", parents=[common], help="list the bots")
    bots_list.set_defaults(handler=cmd_bots_list)

    run = commands.add_parser("run", parents=[common], help="run a bot")
    run.add_argument("bot", metavar="BOT", help="the bot's id or name")
    given = run.add_mutually_exclusive_group()
    given.add_argument("--message", "-m", help="the {message} in the bot's prompt")
    given.add_argument(
        "--payload",
        type=Path,
        metavar="FILE",
        help='the request body as a JSON file ("-" for stdin), e.g. {"message": "..."}',
    )
    _follow_option(run, "print the run's log as it comes and exit with its outcome")
    run.set_defaults(handler=cmd_run)

    logs = commands.add_parser("logs", parents=[common], help="an execution's log")
    logs.add_argument("execution", metavar="EXECUTION", help="the execution's id")
    _follow_option(logs, "keep printing until the run ends and exit with its outcome")
    logs.set_defaults(handler=cmd_logs)

    cancel = commands.add_parser("cancel", parents=[common], help="cancel a queued or running run")
    cancel.add_argument("execution", metavar="EXECUTION", help="the execution's id")
    cancel.set_defaults(handler=cmd_cancel)

    executions = commands.add_parser("executions", parents=[common], help="recent executions")
    executions.add_argument("--status", choices=STATUSES, help="only executions in this status")
    executions.add_argument("--bot", metavar="BOT", help="only this bot's (id or name)")
    executions.add_argument(
        "--limit", type=_limit, default=20, help="how many, newest first (1-500; default 20)"
    )
    executions.set_defaults(handler=cmd_executions)
    return parser


def _follow_option(parser: argparse.ArgumentParser, text: str) -> None:
    parser.add_argument("--follow", "-f", action="store_true", help=text)


def _limit(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 500:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 500, not {text!r}")
    return int(text)


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        client = ApiClient(load_config(read_environment() if env is None else env))
        try:
            handler: Command = args.handler
            return handler(client, args)
        finally:
            client.close()
    except CliError as error:
        if args.json:
            print_json({"error": str(error), "exit_code": int(error.code)}, sys.stderr)
        else:
            notice(str(error))
        return int(error.code)
    except KeyboardInterrupt:
        return 130  # the shell's code for a SIGINT, as for any program stopped by Ctrl-C


def cmd_bots_list(client: ApiClient, args: argparse.Namespace) -> int:
    bots = _bots(client)
    if args.json:
        print_json(bots)
        return Exit.SUCCESS
    rows = [
        (
            bot["id"],
            bot["name"],
            bot["backend_type"],
            bot["trigger_source"],
            bot["enabled"],
            (bot.get("last_execution") or {}).get("status"),
        )
        for bot in bots
    ]
    print_table(("ID", "NAME", "BACKEND", "FIRED BY", "ENABLED", "LAST RUN"), rows)
    return Exit.SUCCESS


def cmd_run(client: ApiClient, args: argparse.Namespace) -> int:
    bot = _find_bot(client, args.bot)
    body = _payload(args.payload) if args.payload else {"message": args.message or ""}
    accepted = client.post(f"/admin/triggers/{bot['id']}/run", body)
    execution_id = accepted["execution_id"]
    if not args.follow:
        if args.json:
            print_json(accepted)
        else:
            print(execution_id)
        return Exit.SUCCESS
    if args.json:
        print_json({"event": "accepted", "data": accepted})
    else:
        notice(f"{execution_id}: {bot['name']} {accepted['status']}")
    return _follow(client, execution_id, args.json)


def cmd_logs(client: ApiClient, args: argparse.Namespace) -> int:
    if args.follow:
        return _follow(client, args.execution, args.json)
    after, lines = 0, []
    while True:  # page through the whole log; each page is bounded by the server
        page = client.get(
            f"/admin/executions/{args.execution}", {"after_seq": after, "limit": LOG_PAGE}
        )
        if args.json:
            lines.extend(page["logs"])
        else:
            for line in page["logs"]:
                print_log_line(line)
        if not page["logs_truncated"] or not page["logs"]:
            break
        after = page["logs"][-1]["seq"]
    if args.json:
        print_json({**page, "logs": lines, "logs_truncated": False})
    return Exit.SUCCESS


def cmd_cancel(client: ApiClient, args: argparse.Namespace) -> int:
    answer = client.post(f"/admin/executions/{args.execution}/cancel")
    if args.json:
        print_json(answer)
    else:
        print(f"{answer['execution_id']}: {answer['status']}")
    return Exit.SUCCESS


def cmd_executions(client: ApiClient, args: argparse.Namespace) -> int:
    params: dict[str, Any] = {"limit": args.limit}
    if args.status:
        params["status"] = args.status
    if args.bot:
        params["trigger_id"] = _find_bot(client, args.bot)["id"]
    page = client.get("/admin/executions", params)
    if args.json:
        print_json(page)
        return Exit.SUCCESS
    rows = [
        (
            execution["id"],
            execution["status"],
            execution["trigger_name"],
            execution["trigger_type"],
            execution["created_at"],
            duration(execution["duration_ms"]),
        )
        for execution in page["executions"]
    ]
    print_table(("ID", "STATUS", "BOT", "FIRED BY", "CREATED", "DURATION"), rows)
    return Exit.SUCCESS


def _bots(client: ApiClient) -> list[dict[str, Any]]:
    bots: list[dict[str, Any]] = client.get("/admin/triggers")["triggers"]
    return bots


def _find_bot(client: ApiClient, wanted: str) -> dict[str, Any]:
    """By id, else by name ignoring case (names are unique that way on the server)."""
    bots = _bots(client)
    for bot in bots:
        if bot["id"] == wanted:
            return bot
    for bot in bots:
        if bot["name"].casefold() == wanted.casefold():
            return bot
    raise CliError(
        f"not found: no bot has the id or name {wanted!r} (agented bots list shows them)",
        Exit.NOT_FOUND,
    )


def _payload(path: Path) -> Any:
    name = "stdin" if str(path) == "-" else str(path)
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CliError(f"--payload: cannot read {name} ({error})", Exit.USAGE) from None
    try:
        body = json.loads(text)
    except ValueError as error:
        raise CliError(f"--payload: {name} is not JSON ({error})", Exit.USAGE) from None
    if not isinstance(body, dict):
        raise CliError(f"--payload: {name} must hold a JSON object", Exit.USAGE)
    return body


def _follow(client: ApiClient, execution_id: str, as_json: bool) -> int:
    def handle(event: str, data: dict[str, Any]) -> None:
        if as_json:
            print_json({"event": event, "data": data})
        elif event == "log":
            print_log_line(data)
        elif event == "reconnecting":
            notice(f"{data['reason']}; resuming after line {data['last_event_id']}")

    outcome = client.follow(execution_id, handle)
    status = str(outcome.get("status"))
    if not as_json:
        took = duration(outcome.get("duration_ms"))
        detail = f": {outcome['error_message']}" if outcome.get("error_message") else ""
        notice(f"{execution_id} ended {status}" + (f" after {took}" if took else "") + detail)
    return run_exit(status)
