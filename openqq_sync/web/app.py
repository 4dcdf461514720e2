"""``create_app``: a Flask app serving one Client's Openqq API, with the original's app-wide rules.

Outside the blueprint's routes every path answers 403 ``api not found`` and OPTIONS anywhere
answers the CORS pre-flight, as the original's catch-all did (protocol doc 11.2); the browser
rules (:mod:`openqq_sync.browser_rules`) hold everywhere. ``GET /``
redirects to the web console (issue 13).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional

from flask import Flask, Response, redirect, request

from ..delivery import Delivery
from . import errors
from .blueprint import MAX_BODY, openqq_blueprint, refuse_for_browsers
from .extra_routes import CONSOLE_PATH
from .http import api_not_found, cors, preflight

if TYPE_CHECKING:
    from ..client.client import Client
    from ..config import Config


def create_app(client: Client, config: Config, *, delivery: Optional[Delivery] = None,
               on_stop: Optional[Callable[[], None]] = None,
               _stop_delay: float = 3.0) -> Flask:  # test shim: _stop_delay
    """The API app for ``client``. ``app.extensions["openqq_sync"]`` is the views' context
    (``.client``, ``.config``, ``.delivery``; ``.close()`` on shutdown). See
    :func:`openqq_blueprint` for the arguments."""
    # No static folder: /static/... must answer "api not found" like every unknown path.
    app = Flask("openqq_sync", static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.config["PROPAGATE_EXCEPTIONS"] = False
    # Flask types app.json as the JSONProvider base; a new app's is the DefaultJSONProvider.
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    bp = openqq_blueprint(client, config, delivery=delivery, on_stop=on_stop, _stop_delay=_stop_delay)
    app.register_blueprint(bp)
    app.extensions["openqq_sync"] = bp.openqq

    rules = bp.openqq_rules

    @app.before_request
    def _options_anywhere() -> Optional[Response]:
        refuse_for_browsers(rules)
        return preflight() if request.method == "OPTIONS" else None

    @app.after_request
    def _cors(resp: Response) -> Response:
        return cors(resp, rules)

    def home() -> Any:
        return redirect(CONSOLE_PATH)

    app.add_url_rule("/", "home", home, methods=["GET"], provide_automatic_options=False)
    errors.register(app)
    app.register_error_handler(404, lambda e: api_not_found())
    app.register_error_handler(405, lambda e: api_not_found())
    return app
