"""Where the terminal client finds the server and its API key.

`AGENTED_URL` and `AGENTED_API_KEY` win; otherwise a TOML file, `AGENTED_CONFIG`
or `~/.config/agented/config.toml` (`$XDG_CONFIG_HOME` honoured), with `url`
and `api_key`. A file holding a key must be private to its owner (mode 0600),
as ssh insists for its keys. `environment()` is the client's only read of
`os.environ`: everything else takes the mapping it is given, so tests pass their own.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .exits import CliError, Exit

DEFAULT_URL = "http://127.0.0.1:20000"
FILE_KEYS = ("url", "api_key")


@dataclass(frozen=True)
class ClientConfig:
    url: str
    api_key: str | None
    path: Path  # the config file consulted (it may not exist), named in error messages


def environment() -> Mapping[str, str]:
    return os.environ


def config_path(env: Mapping[str, str]) -> Path:
    if env.get("AGENTED_CONFIG"):
        return Path(env["AGENTED_CONFIG"]).expanduser()
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or "~").expanduser() / ".config")
    return Path(base) / "agented" / "config.toml"


def load_config(env: Mapping[str, str]) -> ClientConfig:
    path = config_path(env)
    # A file named explicitly must exist; the default one is optional.
    values = _read_file(path, required=bool(env.get("AGENTED_CONFIG")))
    url = env.get("AGENTED_URL") or values.get("url") or DEFAULT_URL
    source = "AGENTED_URL" if env.get("AGENTED_URL") else f"url in {path}"
    return ClientConfig(_checked_url(url, source), _first_key(env, values), path)


def _read_file(path: Path, *, required: bool) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if required:
            raise CliError(f"AGENTED_CONFIG: {path} does not exist", Exit.CONFIG) from None
        return {}
    except (OSError, UnicodeDecodeError) as error:
        raise CliError(f"{path}: cannot read it ({error})", Exit.CONFIG) from None
    try:
        values: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise CliError(f"{path}: not valid TOML ({error})", Exit.CONFIG) from None
    for name, value in values.items():
        if name not in FILE_KEYS:
            raise CliError(
                f"{path}: unknown setting {name!r} (known: {', '.join(FILE_KEYS)})", Exit.CONFIG
            )
        if not isinstance(value, str):
            raise CliError(f"{path}: {name} must be a string", Exit.CONFIG)
    if values.get("api_key"):
        _check_private(path)
    return values


def _check_private(path: Path) -> None:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise CliError(
            f"{path} holds an API key but others may read it (mode {mode:04o}); "
            f"run: chmod 600 {path}",
            Exit.CONFIG,
        )


def _checked_url(url: str, source: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CliError(f"{source}: {url!r} is not an http(s) URL like {DEFAULT_URL}", Exit.CONFIG)
    return url.rstrip("/")


def _first_key(env: Mapping[str, str], values: Mapping[str, str]) -> str | None:
    """The key to send; of a comma-separated list (the server's rotation form), the first."""
    raw = env.get("AGENTED_API_KEY") or values.get("api_key") or ""
    keys = [key.strip() for key in raw.split(",") if key.strip()]
    return keys[0] if keys else None
