"""The app factory: builds a configured Quart app and starts nothing.

Everything that lives (lock, database, services) starts when serving begins
(see `runtime`), so scripts and tests may call `create_app()` freely.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from quart import Quart

from .api import install_api
from .config import SETTING_NAMES, SETTINGS_KEY, Settings, load_settings, process_environment
from .runtime import install_runtime
from .secret_key import load_key, load_secret_key
from .security.middleware import SecurityMiddleware
from .security.policy import POLICY_KEY, SecurityPolicy
from .security.routes import RouteTable, public_endpoints
from .security.startup import on_serving


def create_app(
    overrides: Mapping[str, Any] | None = None, *, environ: Mapping[str, str] | None = None
) -> Quart:
    """Build the app from `environ` (default: the process environment) plus `overrides`.

    `overrides` maps setting names to parsed values that replace the environment's;
    any other key is Quart's own configuration (e.g. TESTING).
    """
    overrides = overrides or {}
    app = Quart("agented", static_folder=None)  # no /static route: nothing to serve
    settings = load_settings(
        process_environment() if environ is None else environ,
        {name: value for name, value in overrides.items() if name in SETTING_NAMES},
    )
    app.config.update({k: v for k, v in overrides.items() if k not in SETTING_NAMES})
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.config["BODY_TIMEOUT"] = settings.body_timeout_seconds  # then 408
    secret_key = load_secret_key(settings.secret_key, settings.secret_key_file)
    app.config["SECRET_KEY"] = secret_key
    app.extensions[SETTINGS_KEY] = settings
    policy = SecurityPolicy.from_settings(settings, secret_key, _api_keys(settings))
    install_api(app)
    app.asgi_app = SecurityMiddleware(  # type: ignore[method-assign,assignment]
        app.asgi_app,
        policy,
        RouteTable(app.url_map, public_endpoints(metrics_public=settings.metrics_public)),
    )
    app.extensions[POLICY_KEY] = policy
    # What the policy learns once the server listens (its bound addresses) is checked first.
    install_runtime(
        app,
        settings,
        secret_key,
        lambda binds: on_serving(policy, binds, settings.log_format),
    )
    return app


def _api_keys(settings: Settings) -> tuple[str, ...]:
    """AGENTED_API_KEY's keys, else the persisted (or newly generated) one; none if auth is off."""
    if settings.api_keys or settings.auth == "disabled":
        return settings.api_keys
    return (load_key(None, settings.api_key_file, "API key"),)
