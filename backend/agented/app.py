"""The app factory: builds a configured Quart app and starts nothing.

Everything that lives (lock, database, services) starts when serving begins
(see `runtime`), so scripts and tests may call `create_app()` freely.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from quart import Quart

from .api import install_api
from .config import load_settings
from .hypercorn_worker import bound_addresses
from .runtime import install_runtime
from .secret_key import load_key, load_secret_key
from .security.middleware import SecurityMiddleware
from .security.policy import POLICY_KEY, SecurityPolicy
from .security.routes import RouteTable
from .security.startup import on_serving


def create_app(
    overrides: Mapping[str, Any] | None = None, *, environ: Mapping[str, str] | None = None
) -> Quart:
    """Build the app from `environ` (default: the process environment) plus `overrides`."""
    app = Quart("agented", static_folder=None)  # no /static route: nothing to serve
    app.config.update(load_settings(os.environ if environ is None else environ))
    app.config.update(overrides or {})
    app.config["MAX_CONTENT_LENGTH"] = app.config["AGENTED_MAX_REQUEST_BYTES"]
    app.config["BODY_TIMEOUT"] = app.config["AGENTED_BODY_TIMEOUT_SECONDS"]  # then 408
    app.config["SECRET_KEY"] = load_secret_key(
        app.config["SECRET_KEY"], app.config["AGENTED_SECRET_KEY_FILE"]
    )
    policy = SecurityPolicy.from_config(app.config, _api_keys(app.config))
    install_api(app)
    app.asgi_app = SecurityMiddleware(  # type: ignore[method-assign]
        app.asgi_app, policy, RouteTable(app.url_map)
    )
    app.extensions[POLICY_KEY] = policy
    # What the policy learns once the server listens (its bound addresses) is checked first.
    install_runtime(app, lambda: on_serving(policy, bound_addresses()))
    return app


def _api_keys(config: Mapping[str, Any]) -> tuple[str, ...]:
    """AGENTED_API_KEY's keys, else the persisted (or newly generated) one; none if auth is off."""
    if config["AGENTED_API_KEY"] or config["AGENTED_AUTH"] == "disabled":
        return tuple(config["AGENTED_API_KEY"])
    return (load_key(None, config["AGENTED_API_KEY_FILE"], "API key"),)
