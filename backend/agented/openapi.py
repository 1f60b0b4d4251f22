"""Print the API's OpenAPI schema without a server: `python -m agented.openapi`.

The dashboard's TypeScript types are generated from this output
(`scripts/api-types`), and the test command checks that the committed types
still match it. The app is built from a throwaway directory and an environment
of our own, so neither the developer's settings nor key files in the checkout
are read or written: the schema depends on the code alone.
"""

from __future__ import annotations

import json
import secrets
import sys
import tempfile
from pathlib import Path
from typing import Any

from . import create_app


def openapi_schema() -> dict[str, Any]:
    """The schema `/openapi.json` serves, from an app built in a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="agented-openapi-") as scratch:
        directory = Path(scratch)
        app = create_app(
            environ={
                "AGENTED_DB_PATH": str(directory / "agented.db"),
                "AGENTED_SECRET_KEY_FILE": str(directory / ".secret_key"),
                "AGENTED_API_KEY_FILE": str(directory / ".api_key"),
                # A key of our own, so that no key file is generated at all.
                "AGENTED_API_KEY": secrets.token_urlsafe(32),
            }
        )
        schema: dict[str, Any] = app.extensions["QUART_SCHEMA"].openapi_provider.schema()
        return schema


def main() -> None:
    json.dump(openapi_schema(), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
