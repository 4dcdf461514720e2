"""The control API under ``/sandbox/``: JSON in, JSON out, one route per world verb.

A user-facing interface (documented with curl examples in README.md, "The SmartQQ sandbox"). Errors answer
``{"error": "..."}`` with HTTP 400 (bad argument), 404 (unknown contact or verb).

The control API has no token, so :func:`refusal` applies the browser rules to it (loopback or
``--allowed-hosts`` Host, no request from another site) and wants a body sent as
``application/json``, which a page of another site cannot send without a CORS pre-flight.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from flask import Blueprint, Response, request

from ..browser_rules import BrowserRules, Refusal
from ._wire import answer, world

bp = Blueprint("sandbox_control", __name__, url_prefix="/sandbox")

# World changes: POST /sandbox/<verb> with the verb's keyword arguments as a JSON object.
CHANGE_VERBS = (
    "add_friend", "remove_friend", "rename_friend",
    "add_group", "remove_group", "rename_group",
    "add_group_member", "remove_group_member", "rename_group_member",
    "add_discuss", "remove_discuss", "rename_discuss",
    "add_discuss_member", "remove_discuss_member", "rename_discuss_member",
)

# The service's pushes that are not messages: POST /sandbox/<verb> -> the world's method.
PUSH_VERBS = {"friend_status": "set_friend_status", "kick": "kick"}


class _Error(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status, self.message = status, message


def _error(e: _Error) -> Response:
    return answer({"error": e.message}, status=e.status)


def _value_error(e: ValueError) -> Response:
    return answer({"error": str(e)}, status=400)


def add_error_handlers(blueprint: Blueprint) -> None:
    """Answer a control route's refusal or bad value as ``{"error": ...}`` JSON."""
    blueprint.register_error_handler(_Error, _error)
    blueprint.register_error_handler(ValueError, _value_error)


add_error_handlers(bp)


@bp.errorhandler(KeyError)
def _key_error(e: KeyError) -> Response:
    return answer({"error": e.args[0] if e.args else "not found"}, status=404)


def is_control_path(path: str) -> bool:
    return path == "/sandbox" or path.startswith("/sandbox/")


def refusal(rules: BrowserRules, environ: Mapping[str, Any]) -> Optional[Tuple[int, Dict[str, Any]]]:
    """``(HTTP status, JSON body)`` when a control request must be refused, else None."""
    try:
        rules.check(environ)
    except Refusal as e:
        return 403, {"error": e.status, "option": e.option}
    has_body = environ.get("CONTENT_LENGTH", "") not in ("", "0") or "HTTP_TRANSFER_ENCODING" in environ
    mimetype = environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
    if has_body and mimetype != "application/json":
        return 415, {"error": "send the body as Content-Type: application/json"}
    return None


def _body() -> Dict[str, Any]:
    if not request.get_data():
        return {}
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise _Error(400, "the body must be a JSON object")
    return body


def _call(fn: Callable[..., Any], body: Dict[str, Any]) -> Any:
    params = inspect.signature(fn).parameters
    unknown = sorted(set(body) - set(params))
    if unknown:
        raise _Error(400, "unknown argument(s): %s" % ", ".join(unknown))
    try:
        inspect.signature(fn).bind(**body)
    except TypeError as e:
        raise _Error(400, str(e)) from e
    return fn(**body)


@bp.route("/", methods=["GET"])
@bp.route("/status", methods=["GET"])
def status() -> Response:
    return answer(world().status())


@bp.route("/world", methods=["GET"])
def get_world() -> Response:
    return answer(world().snapshot(members=request.args.get("members", "1") not in ("0", "false", "no")))


@bp.route("/message", methods=["POST"])
def post_message() -> Response:
    body = _body()
    return answer(_call(world().inject_message, body))


@bp.route("/sent", methods=["GET"])
def get_sent() -> Response:
    return answer(world().sent)


@bp.route("/admin", methods=["GET"])
def get_admin() -> Response:
    return answer(world().admin_log)


@bp.route("/scan", methods=["POST"])
def scan() -> Response:
    return answer({"scanned": world().scan()})


@bp.route("/confirm", methods=["POST"])
def confirm() -> Response:
    return answer({"confirmed": world().confirm()})


@bp.route("/expire_qrcode", methods=["POST"])
def expire_qrcode() -> Response:
    return answer({"expired": world().expire_qrcode()})


@bp.route("/expire_session", methods=["POST"])
def expire_session() -> Response:
    return answer({"expired": world().expire_session()})


@bp.route("/fault", methods=["POST"])
def add_fault() -> Response:
    return answer(_call(world().add_fault, _body()))


@bp.route("/fault", methods=["GET"])
@bp.route("/faults", methods=["GET"])
def get_faults() -> Response:
    return answer({"faults": world().faults, "delays": world().delays})


@bp.route("/fault", methods=["DELETE"])
@bp.route("/faults", methods=["DELETE"])
def clear_faults() -> Response:
    world().clear_faults()
    return answer({"cleared": True})


@bp.route("/delay", methods=["POST"])
def set_delay() -> Response:
    return answer(_call(world().set_delay, _body()))


@bp.route("/chatter", methods=["POST"])
def set_chatter() -> Response:
    return answer(_call(world().set_chatter, _body()))


@bp.route("/<verb>", methods=["POST"])
def change(verb: str) -> Response:
    method = PUSH_VERBS.get(verb) or (verb if verb in CHANGE_VERBS else None)
    if method is None:
        raise _Error(404, "unknown control verb %r" % verb)
    return answer(_call(getattr(world(), method), _body()))
