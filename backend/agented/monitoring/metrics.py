"""The Prometheus exposition of the monitoring figures, with the `prometheus_client` library.

A scrape reads the figures first (from the database, off the event loop),
then a collector on a registry of its own turns those values into metric
families: no global registry and no metric objects kept up to date as things
happen, so two apps in one process never share a value and nothing can drift
from what the database says.

Per-account figures are gauges over the UTC day and month (`period` label),
the same numbers the status route and spend limits use; counts of stored
executions fall when retention deletes old ones, so they are gauges too. Only
the log lines ingested since the server started are a counter.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

if TYPE_CHECKING:  # figures import nothing of this module; only the type is needed
    from .figures import MonitoringStatus

CONTENT_TYPE = CONTENT_TYPE_LATEST  # what the library says its text format is


@dataclass(frozen=True, slots=True)
class LiveCounts:
    """What only the serving process knows: open SSE streams, log lines taken in."""

    sse_subscribers: int
    log_lines_ingested: int


class _Figures:
    """A collector of the figures read for one scrape."""

    def __init__(self, status: MonitoringStatus, live: LiveCounts) -> None:
        self._status = status
        self._live = live

    def collect(self) -> Iterator[Metric]:
        status, live = self._status, self._live
        executions = GaugeMetricFamily(
            "agented_executions", "Executions stored, by status.", labels=["status"]
        )
        for name, count in sorted(status.by_status.items()):
            executions.add_metric([name], count)
        yield executions
        for state in ("running", "queued", "waiting"):
            yield GaugeMetricFamily(
                f"agented_executions_{state}",
                f"Executions {state} now.",
                value=getattr(status, state),
            )
        yield from self._accounts()
        yield GaugeMetricFamily(
            "agented_sse_subscribers",
            "Open Server-Sent Events streams.",
            value=live.sse_subscribers,
        )
        yield CounterMetricFamily(
            "agented_log_lines_ingested",
            "Output lines taken in from running CLIs since the server started.",
            value=live.log_lines_ingested,
        )

    def _accounts(self) -> Iterator[Metric]:
        labels = ["account_id", "account", "period"]
        families = {
            "runs": GaugeMetricFamily(
                "agented_account_runs",
                "Runs on the account in the UTC day or month.",
                labels=labels,
            ),
            "rate_limits": GaugeMetricFamily(
                "agented_account_rate_limits",
                "Runs on the account that ended rate limited, in the UTC day or month.",
                labels=labels,
            ),
            "tokens": GaugeMetricFamily(
                "agented_account_tokens",
                "Input and output tokens of the account's runs in the UTC day or month.",
                labels=labels,
            ),
            "cost_usd": GaugeMetricFamily(
                "agented_account_cost_usd",
                "Cost in USD of the account's runs in the UTC day or month.",
                labels=labels,
            ),
        }
        limits = GaugeMetricFamily(
            "agented_account_limit",
            "The account's spend limits that are configured (those not configured are absent).",
            labels=["account_id", "account", "limit"],
        )
        limited = GaugeMetricFamily(
            "agented_account_limited",
            "1 while the provider limits the account, else 0.",
            labels=["account_id", "account"],
        )
        for account in self._status.accounts:
            limited.add_metric([account.id, account.name], account.state == "limited")
            for name, value in account.limits.model_dump(exclude_none=True).items():
                limits.add_metric([account.id, account.name, name], value)
            for period, usage in (("today", account.today), ("month", account.month)):
                for field, family in families.items():
                    family.add_metric([account.id, account.name, period], getattr(usage, field))
        yield from families.values()
        yield limits
        yield limited


def render(status: MonitoringStatus, live: LiveCounts) -> bytes:
    """The figures in the Prometheus text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Figures(status, live))
    return generate_latest(registry)
