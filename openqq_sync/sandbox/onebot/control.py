"""The OneBot face's control verbs: ``/sandbox/onebot/<verb>``, JSON in, JSON out.

``GET /sandbox/onebot`` (state), ``POST`` ``drop``, ``heartbeat {"on"}``, ``offline
{"message"?}``, ``online``, ``send_timeout {"count"?}``, ``slow {"ms", "action"?}``,
``recall {"message_id", "operator_id"?}``. HTTP 404 when the sandbox has no OneBot face.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional

from flask import Blueprint, Response

from .._wire import answer, world
from ..control import _body, _call, _Error, add_error_handlers
from ..world import finite
from .actions import ActionError
from .face import OneBotFace

bp = Blueprint("sandbox_onebot", __name__, url_prefix="/sandbox/onebot")


def _face() -> OneBotFace:
    face: Optional[OneBotFace] = world().onebot
    if face is None:
        raise _Error(404, "this sandbox has no OneBot face (openqq sandbox --onebot-port)")
    return face


add_error_handlers(bp)


@bp.route("", methods=["GET"])
@bp.route("/", methods=["GET"])
def status() -> Response:
    return answer(_face().status())


def _recall(message_id: int, operator_id: Any = None) -> Dict[str, Any]:
    try:
        return _face().recall(int(message_id), None if operator_id is None else int(operator_id))
    except ActionError as e:
        raise _Error(404, e.message) from None


_VERBS: Dict[str, Callable[..., Any]] = {
    "drop": lambda: _face().drop(),
    "heartbeat": lambda on=False: _face().set_heartbeat(bool(on)),
    "offline": lambda message="你的帐号当前登录已失效，请重新登录": _face().set_online(False, str(message)),
    "online": lambda: _face().set_online(True),
    "send_timeout": lambda count=1: _face().add_send_timeouts(int(count)),
    "slow": lambda ms, action="*": _face().set_slow(finite("ms", ms, 0, 3_600_000), str(action)),
    "recall": _recall,
}


@bp.route("/<verb>", methods=["POST"])
def verb(verb: str) -> Response:
    fn = _VERBS.get(verb)
    if fn is None:
        raise _Error(404, "unknown OneBot control verb %r" % verb)
    return answer(_call(fn, _body()))
