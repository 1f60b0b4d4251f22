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


def _int_at_least(minimum: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value.strip())
        except ValueError:
            raise ValueError(f"must be an integer, got {value!r}") from None
        if number < minimum:
            raise ValueError(f"must be at least {minimum}, got {number}")
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
