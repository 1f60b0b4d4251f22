"""Production entry point: `hypercorn -c hypercorn.toml agented.asgi:app`.

`backend/.env` (or the file named by AGENTED_ENV_FILE) is loaded first, never
overriding variables already set in the real environment. A configuration
error ends the process with a one-line message naming the variable instead of
a traceback.
"""

from __future__ import annotations

import sys

from .app import create_app
from .config import ConfigError, load_dotenv_file, load_settings
from .log import configure_logging
from .secret_key import KeyFileError

environ = load_dotenv_file()

try:
    settings = load_settings(environ)
    configure_logging(settings.log_level, settings.log_format)
    app = create_app(environ=environ)
except (ConfigError, KeyFileError) as error:
    print(f"agented: cannot start: {error}", file=sys.stderr, flush=True)
    raise SystemExit(2) from None
