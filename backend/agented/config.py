"""Settings read from the environment (and `.env`), validated once at startup.

Each setting is declared exactly once below, as an attribute of the frozen
`Settings` with its variable, parser, default and a one-line meaning;
`backend/.env.example` documents the same names and a test keeps the two in
step. `create_app` builds one `Settings` from the environment it is given and
hands it to whatever needs a setting, so two apps in one process can run with
different settings, and nothing else reads the process environment (a lint
rule holds the code to that). A bad value stops startup with a message that
names the variable, instead of failing later somewhere far from the cause.
"""

from __future__ import annotations

import logging
import os
import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from dotenv import load_dotenv

from .models import WORKER_LABEL_PATTERN
from .paths import BACKEND_DIR, REPO_DIR

T = TypeVar("T")

DEFAULT_ENV_FILE = BACKEND_DIR / ".env"


class ConfigError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""


def _path(value: str) -> Path:
    if not value.strip():
        raise ValueError("must not be empty")
    return Path(value).expanduser().resolve()


def _int_at_least(minimum: int, *, maximum: int | None = None) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value.strip())
        except ValueError:
            raise ValueError(f"must be an integer, got {value!r}") from None
        if number < minimum:
            raise ValueError(f"must be at least {minimum}, got {number}")
        if maximum is not None and number > maximum:
            raise ValueError(f"must be at most {maximum}, got {number}")
        return number

    return parse


def _log_level(value: str) -> str:
    level = value.strip().upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ValueError(f"must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got {value!r}")
    return level


def _origins(value: str) -> tuple[str, ...]:
    origins = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        parts = urlsplit(item)
        if parts.scheme not in {"http", "https"} or not parts.netloc or parts.path not in {"", "/"}:
            raise ValueError(f"{item!r} is not an origin like https://example.com:8443")
        origins.append(f"{parts.scheme}://{parts.netloc}")
    return tuple(origins)


def _database_url(value: str) -> str | None:
    """A PostgreSQL connection URL, or None (SQLite) when empty."""
    url = value.strip()
    if not url:
        return None
    if urlsplit(url).scheme not in {"postgresql", "postgres"}:
        # The value may hold a password: the message shows the scheme only.
        raise ValueError(
            f"must be a postgresql:// URL (or empty for SQLite), got a "
            f"{urlsplit(url).scheme or 'scheme-less'!r} one"
        )
    return url


def _public_url(value: str) -> str | None:
    """The address this server is reached at from other machines, or None when empty.

    An absolute http(s) URL, perhaps with a path prefix (a reverse proxy's), kept
    without its trailing slash so that a path (`/mcp`) is appended as it is. No
    query or fragment (a path appended after one would not be a path), and no
    user or password: the URL is handed to every run on a worker, in the clear.
    """
    url = value.strip()
    if not url:
        return None
    example = "e.g. http://agented.internal:20000 or https://example.com/agented"
    parts = urlsplit(url)
    if "@" in parts.netloc:  # the message leaves the value out: it holds a password
        raise ValueError(f"must not contain a user name or password ({example})")
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"must be an absolute http:// or https:// URL ({example}), got {url!r}")
    if "?" in url or "#" in url:
        raise ValueError(f"must not have a query or a fragment ({example}), got {url!r}")
    if not url.isprintable() or any(character.isspace() for character in url):
        raise ValueError(f"must not contain spaces or control characters, got {url!r}")
    try:
        port_ok = parts.port != 0  # urlsplit checks the port only when asked for it
    except ValueError:
        port_ok = False
    if not port_ok:
        raise ValueError(f"has an invalid port ({example}), got {url!r}")
    return url.rstrip("/")


def _worker_name(value: str) -> str:
    """A worker's name as it shows on its executions; empty: this machine's host name."""
    name = value.strip() or socket.gethostname()
    if len(name) > 100 or not name.isprintable():
        raise ValueError(f"must be printable and at most 100 characters, got {name!r}")
    return name


def _labels(value: str) -> tuple[str, ...]:
    labels = _words(value)
    for label in labels:
        if not re.fullmatch(WORKER_LABEL_PATTERN, label):
            raise ValueError(
                f"labels are lowercase letters, digits, - and _ (up to 40), got {label!r}"
            )
    return labels


def _optional_text(value: str) -> str | None:
    return value or None


def _zone_name(value: str) -> str | None:
    """A TZ value as a zone name (POSIX allows a leading colon); checked where it is used."""
    return value.strip().lstrip(":") or None


def _words(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


MIN_API_KEY_LENGTH = 16


def _api_keys(value: str) -> tuple[str, ...]:
    """Comma-separated keys, each long enough that guessing it is hopeless.

    A valid key is never locked out (see security/middleware.py), so the
    failure limit slows guessing but cannot stop it: the keys' length must.
    """
    keys = _words(value)
    for key in keys:
        if len(key) < MIN_API_KEY_LENGTH:
            raise ValueError(
                f"keys must be at least {MIN_API_KEY_LENGTH} characters, got one of {len(key)} "
                "(generate one with: openssl rand -hex 32)"
            )
    return keys


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        chosen = value.strip().lower()
        if chosen not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}, got {value!r}")
        return chosen

    return parse


def _boolean(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"must be true or false, got {value!r}")


def _networks(value: str) -> tuple[IPv4Network | IPv6Network, ...]:
    try:
        return tuple(ip_network(item, strict=False) for item in _words(value))
    except ValueError as error:
        raise ValueError(f"must list IP addresses or networks: {error}") from None


def _rate(value: str) -> tuple[int, float]:
    """`COUNT/SECONDS`, e.g. 20/10: at most COUNT requests in any SECONDS."""
    count, _, seconds = value.strip().partition("/")
    try:
        parsed = int(count), float(seconds)
    except ValueError:
        raise ValueError(f"must look like 20/10 (requests/seconds), got {value!r}") from None
    if parsed[0] < 1 or parsed[1] <= 0:
        raise ValueError(f"must have a positive count and window, got {value!r}")
    return parsed


@dataclass(frozen=True)
class Setting:
    """One environment variable: its parser, its default (as text) and what it means."""

    name: str
    parse: Callable[[str], Any]
    default: str
    meaning: str
    private: bool = True  # Agented's own: kept out of the environment a CLI gets


def _setting(
    name: str,
    parse: Callable[[str], T],
    default: str,
    meaning: str,
    *,
    private: bool = True,
    secret: bool = False,
) -> T:
    """Declare a `Settings` attribute read from the variable `name`.

    Typed as the parser's result, so the type checker holds each attribute's
    annotation to its parser; the declaration itself rides in the field's metadata.
    A `secret` one is left out of the settings' repr, so it never reaches a log line.
    """
    declared = Setting(name, parse, default, meaning, private)
    return cast(T, field(metadata={_DECLARATION: declared}, repr=not secret))


_DECLARATION = "agented.setting"
SETTINGS_KEY = "agented.settings"  # where `create_app` keeps them on the app
# Names outside the declared settings that are still none of a CLI's business.
PRIVATE_PREFIX = "AGENTED_"


@dataclass(frozen=True)
class Settings:
    """Every setting, parsed once from the environment given to `create_app`, then passed down.

    Each attribute is declared here once, with its variable, parser, default and
    meaning; `backend/.env.example` documents the same names and a test keeps
    the two in step.
    """

    # Not a variable of its own: the given environment without the private settings.
    # First: the type checker takes the declared attributes below for ones with defaults.
    # Read-only, and out of the repr: it may hold the CLIs' own credentials.
    cli_environment: Mapping[str, str] = field(repr=False)
    env_file: Path = _setting(
        "AGENTED_ENV_FILE",
        _path,
        str(DEFAULT_ENV_FILE),
        "Dotenv file loaded at startup (set it in the real environment, not in the file)",
    )
    secret_key: str | None = _setting(
        "SECRET_KEY",
        _optional_text,
        "",
        "Signing key; when unset the key file is used",
        secret=True,
    )
    secret_key_file: Path = _setting(
        "AGENTED_SECRET_KEY_FILE",
        _path,
        str(BACKEND_DIR / ".secret_key"),
        "Where the generated secret key is persisted (mode 0600)",
    )
    db_path: Path = _setting(
        "AGENTED_DB_PATH", _path, str(BACKEND_DIR / "agented.db"), "SQLite database file"
    )
    database_url: str | None = _setting(
        "AGENTED_DATABASE_URL",
        _database_url,
        "",
        "postgresql://user:password@host:port/database: store everything in PostgreSQL "
        "instead of the SQLite file",
        secret=True,
    )
    db_pool_size: int = _setting(
        "AGENTED_DB_POOL_SIZE",
        _int_at_least(1, maximum=100),
        "4",
        "PostgreSQL connections for reads (writes use one more)",
    )
    db_busy_timeout_ms: int = _setting(
        "AGENTED_DB_BUSY_TIMEOUT_MS",
        _int_at_least(0),
        "5000",
        "How long SQLite waits for a lock before failing",
    )
    dashboard_dir: Path = _setting(
        "AGENTED_DASHBOARD_DIR",
        _path,
        str(REPO_DIR / "frontend" / "dist"),
        "The built dashboard served at / (scripts/serve builds it)",
    )
    log_level: str = _setting("LOG_LEVEL", _log_level, "INFO", "Level of the agented loggers")
    log_format: str = _setting(
        "LOG_FORMAT",
        _choice("text", "json"),
        "text",
        "`json`: every log line (Hypercorn's too) is one JSON object, for log collectors",
    )
    auth: str = _setting(
        "AGENTED_AUTH",
        _choice("enabled", "disabled"),
        "enabled",
        "API keys for /admin and /api; `disabled` is refused unless bound to loopback only",
    )
    api_keys: tuple[str, ...] = _setting(
        "AGENTED_API_KEY",
        _api_keys,
        "",
        "Comma-separated API keys (several allow rotation); unset: the key file is used",
        secret=True,
    )
    api_key_file: Path = _setting(
        "AGENTED_API_KEY_FILE",
        _path,
        str(BACKEND_DIR / ".api_key"),
        "Where the generated API key is persisted (mode 0600)",
    )
    allowed_hosts: tuple[str, ...] = _setting(
        "AGENTED_ALLOWED_HOSTS",
        _words,
        "",
        "Host names accepted in the Host header besides loopback names and the bind address",
    )
    trusted_proxies: tuple[IPv4Network | IPv6Network, ...] = _setting(
        "AGENTED_TRUSTED_PROXIES",
        _networks,
        "",
        "Proxies (IPs or networks) whose X-Forwarded-For is believed",
    )
    force_https: bool = _setting(
        "FORCE_HTTPS", _boolean, "false", "Send Strict-Transport-Security on every response"
    )
    rate_limit_webhooks: tuple[int, float] = _setting(
        "AGENTED_RATE_LIMIT_WEBHOOKS",
        _rate,
        "20/10",
        "Webhook requests per client IP: COUNT/SECONDS",
    )
    rate_limit_admin: tuple[int, float] = _setting(
        "AGENTED_RATE_LIMIT_ADMIN",
        _rate,
        "600/60",
        "Admin API requests per API key: COUNT/SECONDS (SSE and health are exempt)",
    )
    rate_limit_auth_failures: tuple[int, float] = _setting(
        "AGENTED_RATE_LIMIT_AUTH_FAILURES",
        _rate,
        "10/60",
        "Failed authentications per client IP before it must wait: COUNT/SECONDS",
    )
    stream_token_seconds: int = _setting(
        "AGENTED_STREAM_TOKEN_SECONDS",
        _int_at_least(10),
        "300",
        "Lifetime of the signed tokens that open SSE streams from a browser",
    )
    cors_allowed_origins: tuple[str, ...] = _setting(
        "CORS_ALLOWED_ORIGINS",
        _origins,
        "",
        "Comma-separated origins allowed to call the API from a browser",
    )
    max_concurrent_runs: int = _setting(
        "AGENTED_MAX_CONCURRENT_RUNS",
        _int_at_least(1),
        "4",
        "How many CLIs may run at once; further runs wait as `queued`",
    )
    executor: str = _setting(
        "AGENTED_EXECUTOR",
        _choice("local", "workers"),
        "local",
        "Where runs' CLIs run: `local` (this server) or `workers` (`python -m agented.worker` "
        "processes reaching AGENTED_DATABASE_URL)",
    )
    public_url: str | None = _setting(
        "AGENTED_PUBLIC_URL",
        _public_url,
        "",
        "The URL workers' CLIs reach this server at (e.g. http://agented.internal:20000): "
        "agents' runs on workers get its /mcp; empty: they get no MCP tools",
    )
    worker_name: str = _setting(
        "AGENTED_WORKER_NAME",
        _worker_name,
        "",
        "A worker's name, shown on the executions it runs (empty: the host name)",
    )
    worker_labels: tuple[str, ...] = _setting(
        "AGENTED_WORKER_LABELS",
        _labels,
        "",
        "Comma-separated labels of a worker: it also takes the runs queued for each label",
    )
    worker_heartbeat_seconds: int = _setting(
        "AGENTED_WORKER_HEARTBEAT_SECONDS",
        _int_at_least(1, maximum=3600),
        "10",
        "How often a worker tells the database it is alive; the server ends the runs of a "
        "worker silent for three times that as `interrupted` (set it alike on both)",
    )
    webhook_dedup_seconds: int = _setting(
        "AGENTED_WEBHOOK_DEDUP_SECONDS",
        _int_at_least(1),
        "86400",
        "How long a webhook delivery id (or body hash) is remembered to drop repeats",
    )
    retention_days: int = _setting(
        "AGENTED_RETENTION_DAYS",
        _int_at_least(0),
        "90",
        "Finished executions older than this many days are deleted (0 keeps them all)",
    )
    monitoring_retention_days: int = _setting(
        "AGENTED_MONITORING_RETENTION_DAYS",
        _int_at_least(1, maximum=3650),
        "30",
        "Days the monitoring history's 5-minute snapshots are kept",
    )
    metrics_public: bool = _setting(
        "AGENTED_METRICS_PUBLIC",
        _boolean,
        "false",
        "`true`: /metrics answers without an API key (for a scraper that cannot send one)",
    )
    github_webhook_secret: str | None = _setting(
        "GITHUB_WEBHOOK_SECRET",
        _optional_text,
        "",
        "Secret shared with GitHub's webhook settings; unset: GitHub deliveries are refused",
        secret=True,
    )
    max_request_bytes: int = _setting(
        "AGENTED_MAX_REQUEST_BYTES",
        _int_at_least(1),
        str(10 * 1024 * 1024),
        "Largest request body accepted (413 above it)",
    )
    body_timeout_seconds: int = _setting(
        "AGENTED_BODY_TIMEOUT_SECONDS",
        # Capped: a body that takes longer is an attack on the connection limit,
        # not an upload (bodies are small JSON documents).
        _int_at_least(1, maximum=60),
        "10",
        "Seconds a request body may take to arrive in full (408 after that)",
    )
    timezone: str | None = _setting(
        "TZ",
        _zone_name,
        "",
        "Default time zone of schedules (an IANA name); unset or unknown: the host's zone",
        private=False,  # the system's variable: CLIs keep it
    )


# (attribute, declaration) for every setting, in the order declared.
_DECLARED: tuple[tuple[str, Setting], ...] = tuple(
    (item.name, item.metadata[_DECLARATION])
    for item in fields(Settings)
    if _DECLARATION in item.metadata
)
SETTINGS: tuple[Setting, ...] = tuple(setting for _, setting in _DECLARED)
SETTING_NAMES = frozenset(setting.name for setting in SETTINGS)
_PRIVATE_NAMES = frozenset(setting.name for setting in SETTINGS if setting.private)


def load_settings(
    environ: Mapping[str, str], overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Parse every setting from `environ`; raise ConfigError naming the first bad one.

    `overrides` (for tests and scripts) maps variable names to already-parsed
    values that take the place of the environment's, which are then not read.
    """
    overrides = overrides or {}
    unknown = set(overrides) - SETTING_NAMES
    if unknown:
        raise ConfigError(f"{', '.join(sorted(unknown))}: not a setting")
    values: dict[str, Any] = {}
    for attribute, setting in _DECLARED:
        if setting.name in overrides:
            values[attribute] = overrides[setting.name]
            continue
        raw = environ.get(setting.name)
        if raw is None or raw == "":
            raw = setting.default
        try:
            values[attribute] = setting.parse(raw)
        except ValueError as error:
            raise ConfigError(f"{setting.name} {error}") from None
    settings = Settings(**values, cli_environment=MappingProxyType(_cli_environment(environ)))
    _check_together(settings)
    return settings


def _check_together(settings: Settings) -> None:
    """What no single setting's parser can see: settings that need one another."""
    if settings.executor == "workers" and settings.database_url is None:
        raise ConfigError(
            "AGENTED_EXECUTOR=workers needs AGENTED_DATABASE_URL: workers take their runs "
            "from PostgreSQL (SQLite cannot be shared between machines)"
        )


def _cli_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """What a CLI inherits: `environ` without Agented's own settings and secrets."""
    return {
        name: value
        for name, value in environ.items()
        if name not in _PRIVATE_NAMES and not name.startswith(PRIVATE_PREFIX)
    }


def process_environment() -> dict[str, str]:
    """A copy of this process's environment: the only place outside tests that reads it."""
    return dict(os.environ)


def load_dotenv_file() -> dict[str, str]:
    """Load the dotenv file into the process environment (what is set wins); return a copy.

    For the entry points (`asgi`, `rekey`): the file is AGENTED_ENV_FILE when the
    real environment names one, else `backend/.env`.
    """
    load_dotenv(os.environ.get("AGENTED_ENV_FILE") or DEFAULT_ENV_FILE, override=False)
    return process_environment()


def log_level_number(name: str) -> int:
    """The numeric level for a validated LOG_LEVEL name."""
    return logging.getLevelNamesMapping()[name]
