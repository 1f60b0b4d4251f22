"""Production entry point: `hypercorn -c hypercorn.toml agented.asgi:app`.

`backend/.env` (or the file named by AGENTED_ENV_FILE) is loaded first, never
overriding variables already set in the real environment. A configuration
error ends the process with a one-line message naming the variable instead of
a traceback.
"""

from __future__ import annotations

import os
import sys

from dotenv import load_dotenv

from .app import create_app
from .config import ConfigError, load_settings
from .log import configure_logging
from .paths import BACKEND_DIR
from .secret_key import KeyFileError

load_dotenv(os.environ.get("AGENTED_ENV_FILE") or BACKEND_DIR / ".env", override=False)

try:
    settings = load_settings(os.environ)
    configure_logging(settings["LOG_LEVEL"], settings["LOG_FORMAT"])
    app = create_app()
except (ConfigError, KeyFileError) as error:
    print(f"agented: cannot start: {error}", file=sys.stderr, flush=True)
    raise SystemExit(2) from None
