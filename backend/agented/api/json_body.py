"""`request.get_json()` that answers every unreadable body with 400, never a 500.

Python's json module raises RecursionError (not ValueError) on arrays nested
some thousand levels deep, and Quart decodes the body as UTF-8 outside the
`try` that turns a JSON error into 400, so invalid UTF-8 escaped as a
UnicodeDecodeError: both were answered as crashes. quart-schema's request
validation calls `get_json()`, so this covers every validated admin body.
Receivers that parse raw bytes themselves (webhooks, for their signatures)
catch `(ValueError, RecursionError)`; UnicodeDecodeError is a ValueError.
"""

from __future__ import annotations

from typing import Any

from quart.wrappers import Request
from werkzeug.exceptions import BadRequest

TOO_DEEP = "the body's JSON is nested too deeply"  # RecursionError carries no position


class JsonRequest(Request):
    """Quart's request, with `get_json()` answering every unreadable body with 400."""

    async def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        try:
            return await super().get_json(force=force, silent=silent, cache=cache)
        except UnicodeDecodeError as error:  # from decoding the body, before any JSON parsing
            if silent:
                return None
            raise BadRequest(f"the body is not valid UTF-8 (byte {error.start})") from None
        except RecursionError:  # only json.loads recurses here
            if silent:
                return None
            raise BadRequest(TOO_DEEP) from None

    def on_json_loading_failed(self, error: Exception) -> Any:
        raise BadRequest(f"the body is not valid JSON: {error}")
