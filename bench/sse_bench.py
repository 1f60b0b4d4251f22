"""Agented's live-output benchmark: real servers, real CLIs, thousands of SSE viewers.

    cd backend && uv run python ../bench/sse_bench.py [--scenario NAME ...] [--quick]

Each scenario starts its own Hypercorn server (hypercorn.toml, a fresh database),
runs bench/emit.py as a bot and measures what the subscribers receive and what
the server's worker process spends. Progress goes to stderr; the results are
printed as one JSON document and written to bench/results/<timestamp>.json.
See bench/README.md for what every figure means.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import uvloop
from agents_bus import AGENTS_BUS, AGENTS_BUS_DIRECT
from procstat import raise_open_files_limit
from scenarios import (
    DEFAULT_SCENARIOS,
    MEMORY_SCENARIOS,
    QUART_BASELINE,
    Scenario,
    Settings,
    log,
    wait_for_quiet_machine,
)
from workers_scenarios import WORKERS_SCENARIOS

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def parse_args(argv: list[str]) -> argparse.Namespace:
    names = [
        scenario.name
        for scenario in (
            *DEFAULT_SCENARIOS,
            AGENTS_BUS,
            AGENTS_BUS_DIRECT,
            *MEMORY_SCENARIOS,
            *WORKERS_SCENARIOS,
            QUART_BASELINE,
        )
    ]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scenario",
        action="append",
        choices=names,
        metavar="NAME",
        help=f"run only this scenario (repeatable); one of: {', '.join(names)}",
    )
    parser.add_argument(
        "--quick", action="store_true", help="shrink every scenario: a smoke test of ~1 minute"
    )
    parser.add_argument(
        "--compare-quart-baseline",
        action="store_true",
        help=f"also run {QUART_BASELINE.name}: {QUART_BASELINE.description}",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        metavar="SECONDS",
        help="before each scenario, wait at most this long for other work on the machine to "
        "stop (default: 120, with --quick 2)",
    )
    parser.add_argument(
        "--no-gc-probe",
        action="store_true",
        help="do not load bench/gc_probe into the servers (it reports long GC pauses)",
    )
    parser.add_argument(
        "--subscribers",
        type=int,
        default=10_000,
        metavar="N",
        help="fanout_10000 with N subscribers instead (to find the largest fan-out that meets "
        "its targets)",
    )
    parser.add_argument(
        "--client-processes",
        type=int,
        default=1,
        metavar="N",
        help="spread the fanout subscribers over N client processes (default: 1, this one)",
    )
    return parser.parse_args(argv)


def chosen(args: argparse.Namespace) -> list[Scenario]:
    every = {
        scenario.name: scenario
        for scenario in (
            *DEFAULT_SCENARIOS,
            AGENTS_BUS,
            AGENTS_BUS_DIRECT,
            *MEMORY_SCENARIOS,
            *WORKERS_SCENARIOS,
            QUART_BASELINE,
        )
    }
    if args.scenario:
        return [every[name] for name in dict.fromkeys(args.scenario)]
    baseline = [QUART_BASELINE] if args.compare_quart_baseline else []
    return [*DEFAULT_SCENARIOS, AGENTS_BUS, AGENTS_BUS_DIRECT, *baseline]


async def run(scenarios: list[Scenario], settings: Settings, results: dict[str, Any]) -> None:
    """Run `scenarios` one after the other, adding each one's report to `results`."""
    main = asyncio.current_task()
    assert main is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main.cancel)
    for scenario in scenarios:
        log(f"{scenario.name}: {scenario.description}{' (quick)' if settings.quick else ''}")
        quiet = await wait_for_quiet_machine(settings.quiet_wait)
        started = time.monotonic()
        try:
            result = await scenario.run(settings)
        except Exception as error:
            notes = getattr(error, "__notes__", [])
            log(f"{scenario.name} FAILED: {error}" + "".join(f"\n{note}" for note in notes))
            result = {
                "error": f"{type(error).__name__}: {error}",
                "trace": "".join(traceback.format_exception(error)),
            }
        result["machine_before_start"] = quiet
        result["scenario_seconds"] = round(time.monotonic() - started, 1)
        results[scenario.name] = {"description": scenario.description, **result}


def all_met(results: dict[str, Any]) -> bool:
    return all(
        "error" not in result and all(t["met"] for t in result.get("targets", {}).values())
        for result in results.values()
    )


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    open_files = raise_open_files_limit()
    quiet_wait = args.quiet_wait if args.quiet_wait is not None else 2.0 if args.quick else 120.0
    settings = Settings(
        quick=args.quick,
        client_processes=args.client_processes,
        quiet_wait=quiet_wait,
        gc_probe=not args.no_gc_probe,
        big_fanout=args.subscribers,
    )
    started_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    results: dict[str, Any] = {}
    interrupted = False
    try:
        uvloop.run(run(chosen(args), settings, results))
    except (KeyboardInterrupt, asyncio.CancelledError):
        interrupted = True  # every server was stopped on the way out; report what finished
        log("interrupted: reporting the scenarios that finished")
    document = {
        "benchmark": "agented-sse",
        "started_at": started_at,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "quick": args.quick,
        "interrupted": interrupted,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "open_files_limit": open_files,
        },
        "all_targets_met": all_met(results),
        "scenarios": results,
    }
    text = json.dumps(document, indent=2)
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(text + "\n")
    print(text)
    log(f"results written to {path}")
    if interrupted:
        return 130
    return 1 if any("error" in result for result in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
