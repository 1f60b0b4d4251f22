"""Settings read from the environment (and `.env`), validated once at startup.

Each setting is declared exactly once below, with its parser, default and a
one-line meaning; `backend/.env.example` documents the same names and a test
keeps the two in step. A bad value stops startup with a message that names
the variable, instead of failing later somewhere far from the cause.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .paths import BACKEND_DIR, REPO_DIR


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


def _optional_text(value: str) -> str | None:
    return value or None


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
    name: str
    parse: Callable[[str], Any]
    default: str
    meaning: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "AGENTED_ENV_FILE",
        _path,
        str(BACKEND_DIR / ".env"),
        "Dotenv file loaded at startup (set it in the real environment, not in the file)",
    ),
    Setting("SECRET_KEY", _optional_text, "", "Signing key; when unset the key file is used"),
    Setting(
        "AGENTED_SECRET_KEY_FILE",
        _path,
        str(BACKEND_DIR / ".secret_key"),
        "Where the generated secret key is persisted (mode 0600)",
    ),
    Setting("AGENTED_DB_PATH", _path, str(BACKEND_DIR / "agented.db"), "SQLite database file"),
    Setting(
        "AGENTED_DB_BUSY_TIMEOUT_MS",
        _int_at_least(0),
        "5000",
        "How long SQLite waits for a lock before failing",
    ),
    Setting(
        "AGENTED_DASHBOARD_DIR",
        _path,
        str(REPO_DIR / "frontend" / "dist"),
        "The built dashboard served at / (scripts/serve builds it)",
    ),
    Setting("LOG_LEVEL", _log_level, "INFO", "Level of the agented loggers"),
    Setting(
        "LOG_FORMAT",
        _choice("text", "json"),
        "text",
        "`json`: every log line (Hypercorn's too) is one JSON object, for log collectors",
    ),
    Setting(
        "AGENTED_AUTH",
        _choice("enabled", "disabled"),
        "enabled",
        "API keys for /admin and /api; `disabled` is refused unless bound to loopback only",
    ),
    Setting(
        "AGENTED_API_KEY",
        _api_keys,
        "",
        "Comma-separated API keys (several allow rotation); unset: the key file is used",
    ),
    Setting(
        "AGENTED_API_KEY_FILE",
        _path,
        str(BACKEND_DIR / ".api_key"),
        "Where the generated API key is persisted (mode 0600)",
    ),
    Setting(
        "AGENTED_ALLOWED_HOSTS",
        _words,
        "",
        "Host names accepted in the Host header besides loopback names and the bind address",
    ),
    Setting(
        "AGENTED_TRUSTED_PROXIES",
        _networks,
        "",
        "Proxies (IPs or networks) whose X-Forwarded-For is believed",
    ),
    Setting("FORCE_HTTPS", _boolean, "false", "Send Strict-Transport-Security on every response"),
    Setting(
        "AGENTED_RATE_LIMIT_WEBHOOKS",
        _rate,
        "20/10",
        "Webhook requests per client IP: COUNT/SECONDS",
    ),
    Setting(
        "AGENTED_RATE_LIMIT_ADMIN",
        _rate,
        "600/60",
        "Admin API requests per API key: COUNT/SECONDS (SSE and health are exempt)",
    ),
    Setting(
        "AGENTED_RATE_LIMIT_AUTH_FAILURES",
        _rate,
        "10/60",
        "Failed authentications per client IP before it must wait: COUNT/SECONDS",
    ),
    Setting(
        "AGENTED_STREAM_TOKEN_SECONDS",
        _int_at_least(10),
        "300",
        "Lifetime of the signed tokens that open SSE streams from a browser",
    ),
    Setting(
        "CORS_ALLOWED_ORIGINS",
        _origins,
        "",
        "Comma-separated origins allowed to call the API from a browser",
    ),
    Setting(
        "AGENTED_MAX_CONCURRENT_RUNS",
        _int_at_least(1),
        "4",
        "How many CLIs may run at once; further runs wait as `queued`",
    ),
    Setting(
        "AGENTED_WEBHOOK_DEDUP_SECONDS",
        _int_at_least(1),
        "86400",
        "How long a webhook delivery id (or body hash) is remembered to drop repeats",
    ),
    Setting(
        "AGENTED_RETENTION_DAYS",
        _int_at_least(0),
        "90",
        "Finished executions older than this many days are deleted (0 keeps them all)",
    ),
    Setting(
        "AGENTED_MAX_REQUEST_BYTES",
        _int_at_least(1),
        str(10 * 1024 * 1024),
        "Largest request body accepted (413 above it)",
    ),
    Setting(
        "AGENTED_BODY_TIMEOUT_SECONDS",
        # Capped: a body that takes longer is an attack on the connection limit,
        # not an upload (bodies are small JSON documents).
        _int_at_least(1, maximum=60),
        "10",
        "Seconds a request body may take to arrive in full (408 after that)",
    ),
)


# Read from the environment each time they are used, so they can change without a restart.
GITHUB_SECRET_VARIABLE = "GITHUB_WEBHOOK_SECRET"
READ_WHEN_USED: tuple[str, ...] = (GITHUB_SECRET_VARIABLE,)


def load_settings(environ: Mapping[str, str]) -> dict[str, Any]:
    """Parse every setting from `environ`; raise ConfigError naming the first bad one."""
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = environ.get(setting.name)
        if raw is None or raw == "":
            raw = setting.default
        try:
            values[setting.name] = setting.parse(raw)
        except ValueError as error:
            raise ConfigError(f"{setting.name} {error}") from None
    return values


def log_level_number(name: str) -> int:
    """The numeric level for a validated LOG_LEVEL name."""
    return logging.getLevelNamesMapping()[name]
