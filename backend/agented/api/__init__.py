"""The HTTP layer: thin blueprints that validate input, call a service and shape JSON."""

from quart import Quart

from .errors import install_error_handlers
from .health import blueprint as health_blueprint
from .request_id import install_request_ids


def install_api(app: Quart) -> None:
    install_request_ids(app)
    install_error_handlers(app)
    app.register_blueprint(health_blueprint)
