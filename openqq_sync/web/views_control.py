"""check_event and the client control routes (protocol doc 11.8, 11.9).

These answer in every client state: check_event only reads the event buffer, and the
control routes are how one inspects or ends a client that is stuck logging in.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any, Dict

from ..client import contacts as _lookup
from ._routes import GET, Api, route
from .errors import BAD_REQUEST, ApiError

log = logging.getLogger(__name__)


@route("/openqq/check_event", needs_running=False)
def check_event(api: Api, params: Dict[str, str]) -> Any:
    buffer = api.delivery.buffer
    timeout = api.config.check_event_timeout
    since = params.get("since")
    if since is None or since == "":
        return buffer.take(timeout)
    if not (since.isascii() and since.isdigit()):
        raise ApiError(BAD_REQUEST, "since must be a sequence number")
    return buffer.since(int(since), timeout)


def _times(api: Api) -> Dict[str, Any]:
    client = api.client
    starttime = int(getattr(client, "starttime", None) or time.time())
    return {"pid": getattr(client, "pid", None) or os.getpid(), "starttime": starttime,
            "runtime": max(0, int(time.time()) - starttime)}


@route("/openqq/get_client_info", needs_running=False)
def get_client_info(api: Api, params: Dict[str, str]) -> Any:
    from .. import __version__   # at call time: the package __init__ may import this module

    config = api.config
    describe = getattr(api.client, "describe", None)
    backend = describe() if callable(describe) else {}
    return {"code": 0, "account": config.account, **_times(api), "os": sys.platform,
            "version": __version__, "http_debug": 0, "log_encoding": None,
            "log_path": config.log_path or "", "log_level": config.log_level,
            # Additions: which backend drives the account and through which server.
            **{k: v for k, v in backend.items() if k not in ("code", "status", "state")},
            "state": _lookup.state_name(api.client), "status": "success"}


@route("/openqq/stop_client", "/openwx/stop_client", needs_running=False)
def stop_client(api: Api, params: Dict[str, str]) -> Any:
    times = _times(api)
    with api.control_lock:
        first, api.stopping = not api.stopping, True
    if first:
        log.info("stop_client: stopping in %.0f s", api.stop_delay)
        api.later("stop", lambda: _stop(api))
    return {"code": 0, "account": api.config.account, **times,
            "status": f"success, client({times['pid']}) will stop in {api.stop_delay:g} seconds"}


def _stop(api: Api) -> None:
    api.client.stop()
    if api.on_stop is not None:
        api.on_stop()


@route("/openqq/relogin", methods=GET, needs_running=False)
def relogin(api: Api, params: Dict[str, str]) -> Any:
    pid = _times(api)["pid"]
    log.info("relogin: asking the client in %.0f s", api.stop_delay)
    api.later("relogin", api.client.request_relogin)
    return {"code": 0, "account": api.config.account,
            "status": f"success, client({pid}) will relogin in {api.stop_delay:g} seconds"}
