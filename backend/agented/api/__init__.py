"""The HTTP layer: thin blueprints that validate input, call a service and shape JSON."""

from typing import Any

from quart import Quart
from quart_schema import APIKeySecurityScheme, QuartSchema, RequestSchemaValidationError
from quart_schema.openapi import OpenAPIProvider
from werkzeug.routing import Rule

from .. import __version__
from . import (
    accounts,
    agents,
    backends,
    bots,
    conversation,
    dashboard,
    deliveries,
    docs,
    execution_logs,
    executions,
    health,
    metrics,
    monitoring,
    retries,
    streams,
    webhooks,
)
from .errors import install_error_handlers
from .mcp import install_mcp
from .request_id import install_request_ids
from .stream_docs import STREAM_PATHS
from .streams import install_streams
from .validation import validation_error_response


class _OpenAPI(OpenAPIProvider):
    """The bots' alias routes (`/admin/triggers/...`) published as deprecated, with their own ids;
    and the SSE routes, which Quart does not serve, added from `stream_docs`.

    Operation ids must be unique, and they are derived from the handler's name,
    which an alias shares with its route.
    """

    def schema(self) -> dict[str, Any]:
        schema = super().schema()
        schema["paths"].update(STREAM_PATHS)
        return schema

    def build_paths(self, rule: Rule) -> tuple[dict[str, Any], dict[str, Any]]:
        paths, components = super().build_paths(rule)
        if rule.endpoint.startswith(f"{bots.ALIAS_NAME}."):
            for operations in paths.values():
                for method, operation in operations.items():
                    operations[method] = {
                        **operation,
                        "deprecated": True,
                        "operationId": f"{operation['operationId']}_via_{bots.ALIAS_NAME}",
                    }
        return paths, components


def install_api(app: Quart) -> None:
    QuartSchema(
        app,
        openapi_provider_class=_OpenAPI,
        info={"title": "Agented API", "version": __version__},
        redoc_ui_path=None,
        scalar_ui_path=None,
        swagger_ui_path=None,  # served by api/docs.py from a package, not a CDN
        security_schemes={"ApiKey": APIKeySecurityScheme(name="X-API-Key", in_="header")},
        security=[{"ApiKey": []}],
    )
    install_request_ids(app)
    install_error_handlers(app)
    app.register_error_handler(RequestSchemaValidationError, validation_error_response)
    modules = (
        health,
        backends,
        bots,
        agents,
        accounts,
        executions,
        conversation,
        execution_logs,
        retries,
        monitoring,
        metrics,
        webhooks,
        deliveries,
        streams,
        docs,
        dashboard,
    )
    for module in modules:
        app.register_blueprint(module.blueprint)
    app.register_blueprint(bots.blueprint, url_prefix=bots.ALIAS_PREFIX, name=bots.ALIAS_NAME)
    install_streams(app)
    install_mcp(app)
