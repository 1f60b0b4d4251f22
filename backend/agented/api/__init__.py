"""The HTTP layer: thin blueprints that validate input, call a service and shape JSON."""

from quart import Quart
from quart_schema import APIKeySecurityScheme, QuartSchema, RequestSchemaValidationError

from .. import __version__
from . import bots, dashboard, docs, executions, health, retries, streams, webhooks
from .errors import install_error_handlers
from .request_id import install_request_ids
from .streams import install_streams
from .validation import validation_error_response


def install_api(app: Quart) -> None:
    QuartSchema(
        app,
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
    for module in (health, bots, executions, retries, webhooks, streams, docs, dashboard):
        app.register_blueprint(module.blueprint)
    app.register_blueprint(bots.blueprint, url_prefix=bots.ALIAS_PREFIX, name=bots.ALIAS_NAME)
    install_streams(app)
