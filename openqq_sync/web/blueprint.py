"""The ``/openqq/*`` blueprint: every route of the Openqq API over one Client.

Mount it in any Flask app (``app.register_blueprint(openqq_blueprint(client, config))``);
:func:`~openqq_sync.web.app.create_app` does that plus the app-wide rules of the original
(403 for every unknown path, OPTIONS anywhere). Inside the blueprint's paths the rules
hold as well: an unknown ``/openqq/...`` path or a wrong method answers 403 ``api not found``.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Dict, Optional

from flask import Blueprint, Response, g, request

from ..browser_rules import BrowserRules, Refusal
from ..client import contacts as _lookup
from ..delivery import Delivery
from . import errors, extra_routes
from .http import api_not_found, collect, cors, json_response, jsonp_callback, preflight, token_matches, wrap_jsonp
from .views import ROUTES, Api, Route

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]


def openqq_blueprint(client: Any, config: Any, *, delivery: Optional[Delivery] = None,
                     on_stop: Optional[Callable[[], None]] = None, name: str = "openqq",
                     _stop_delay: float = 3.0) -> Blueprint:  # test shim: _stop_delay
    """Build the API blueprint for ``client``.

    :param config: the :class:`~openqq_sync.config.Config` (``token``, ``send_timeout``,
        ``check_event_*``, ``account``, ...).
    :param delivery: the :class:`~openqq_sync.delivery.Delivery` whose buffer check_event
        reads; when None one is created and started here (connect before ``client.start()``
        to see the login events). It is reachable as ``bp.openqq.delivery`` for stopping.
    :param on_stop: called after ``stop_client`` stopped the client (3 s after answering).
        ``bp.openqq.close()`` drops a stop or relogin not yet due (call it when shutting down).
    :param name: blueprint name; give each one a distinct name to mount several clients.
    """
    if delivery is None:
        delivery = Delivery(client, config).start()
    api = Api(client=client, config=config, delivery=delivery, on_stop=on_stop, stop_delay=_stop_delay)
    bp = Blueprint(name, __name__)
    bp.openqq = api  # type: ignore[attr-defined]
    token = config.token
    rules = BrowserRules.from_config(config)
    bp.openqq_rules = rules  # type: ignore[attr-defined]

    @bp.before_request
    def _before() -> Optional[Response]:
        refuse_for_browsers(rules)
        if request.method == "OPTIONS":
            return preflight()
        # The body limit is per request, so it holds even inside a host app without one.
        request.max_content_length = MAX_BODY
        length = request.content_length
        if length is not None and length > MAX_BODY:
            raise errors.ApiError(413, "request body too large", http_status=413)
        g.openqq_params = collect(request)
        if token and not extra_routes.is_public() and not _authorized(token, g.openqq_params):
            raise errors.auth_failure()
        return None

    @bp.after_request
    def _after(resp: Response) -> Response:
        cors(resp, rules)
        params = g.get("openqq_params")
        if params is None:       # refused before its parameters were read
            params = request.args
        # Only API answers are wrapped (not files such as the console's or the QR image).
        if params.get("datatype") != "jsonp" or request.method == "OPTIONS" or resp.direct_passthrough \
                or resp.mimetype not in ("application/json", "text/html"):
            return resp
        try:
            callback = jsonp_callback(params)
        except ValueError:
            return cors(errors.ApiError(errors.BAD_REQUEST, "invalid jsonp callback", http_status=400).response(),
                        rules)
        return wrap_jsonp(resp, callback) if callback else resp

    errors.register(bp)
    for entry in ROUTES:
        _add(bp, api, entry)
    extra_routes.install(bp, api)

    def not_found(**_: Any) -> Response:
        return api_not_found()

    for prefix in ("/openqq", "/openwx"):
        bp.add_url_rule(f"{prefix}/", f"{prefix[1:]}_root", not_found, methods=ALL_METHODS,
                        provide_automatic_options=False)
        bp.add_url_rule(f"{prefix}/<path:rest>", f"{prefix[1:]}_any", not_found, methods=ALL_METHODS,
                        provide_automatic_options=False)
    return bp


def _add(bp: Blueprint, api: Api, entry: Route) -> None:
    def view() -> Response:
        if entry.needs_running and _lookup.state_name(api.client) != "running":
            raise errors.not_running(api.client)
        params = g.openqq_params
        return json_response(entry.view(api, params), as_file=params.get("datatype") != "jsonp")

    for rule in entry.rules:
        endpoint = rule.strip("/").replace("/", "_")
        bp.add_url_rule(rule, endpoint, view, methods=list(entry.methods) + ["OPTIONS"],
                        provide_automatic_options=False)


def refuse_for_browsers(rules: BrowserRules) -> None:
    """:raises ApiError: 403 when the browser rules refuse this request (the JSON names the option)."""
    try:
        rules.check(request.environ)
    except Refusal as e:
        raise errors.ApiError(403, e.status, http_status=403, extra={"option": e.option}) from None


def _authorized(token: str, params: Dict[str, str]) -> bool:
    return token_matches(token, request.headers.get("Authorization", ""),
                         request.headers.get("X-Auth-Token"), params.get("access_token", ""))
