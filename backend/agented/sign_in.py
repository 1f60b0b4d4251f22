"""`scripts/serve --sign-in-url`: the dashboard's sign-in link again, for when it scrolled away.

An entry point like `asgi`: it reads the same environment and `backend/.env`, the
key the server uses (AGENTED_API_KEY's first key, else the generated key file,
which it never creates), and the address from hypercorn.toml or a `-b HOST:PORT`
given after the flag, as `scripts/serve` would pass it to Hypercorn.
"""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Sequence

from .config import ConfigError, load_dotenv_file, load_settings
from .listeners import Listener, parse_bind
from .paths import REPO_DIR
from .secret_key import KeyFileError, read_key_file
from .security.startup import sign_in_notice


def _given(argv: Sequence[str], *options: str) -> list[str]:
    return [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg in options]


def binds_from(argv: Sequence[str]) -> list[Listener]:
    """The addresses `-b/--bind` and `--insecure-bind` name in `argv`, else those in
    hypercorn.toml. As in Hypercorn, `bind` is TLS when a certfile is given."""
    named = _given(argv, "-b", "--bind")
    plain = _given(argv, "--insecure-bind")
    secure = bool(_given(argv, "--certfile"))
    if not (named or plain):
        with (REPO_DIR / "hypercorn.toml").open("rb") as file:
            config = tomllib.load(file)
        named = list(config.get("bind", ["127.0.0.1:8000"]))
        plain = list(config.get("insecure_bind", []))
        secure = bool(config.get("certfile"))
    return [
        *(parse_bind(bind, secure=secure) for bind in named),
        *(parse_bind(bind) for bind in plain),
    ]


def main(argv: Sequence[str]) -> int:
    try:
        settings = load_settings(load_dotenv_file())
        binds = binds_from(argv)
        if settings.auth == "disabled":
            print(f"authentication is disabled: open {binds[0].url()}", file=sys.stderr)
            return 0
        keys = settings.api_keys
        key = keys[0] if keys else read_key_file(settings.api_key_file, "API key")
    except (ConfigError, KeyFileError, ValueError, OSError) as error:
        print(f"agented: {error}", file=sys.stderr)
        return 2
    if key is None:
        print(
            "agented: no API key yet: start the server once (scripts/serve) and it makes one",
            file=sys.stderr,
        )
        return 1
    print(sign_in_notice(key, binds).strip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
