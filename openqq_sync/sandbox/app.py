"""The Flask face of a ``SandboxWorld``: SmartQQ, ptlogin and qun.qq.com routes plus the
``/sandbox/`` control API, all routed by path whatever the Host header.

Faults and delays (``SandboxWorld.add_fault`` / ``set_delay``) are applied here, before the
view, to every endpoint outside ``/sandbox/``. An endpoint is named by the last segment of
its path (``poll2``, ``send_qun_msg2``, ``ptqrlogin``, ``get_group_info_ext2``...).
"""

from __future__ import annotations

import logging
from typing import Optional

from flask import Flask, Response, request

from . import control, ptlogin, qun, smartqq
from ._wire import answer, form_r, js, quote_fields
from .onebot import control as onebot_control
from .world import IDLE_POLL, SandboxWorld

log = logging.getLogger(__name__)

_PTLOGIN_ENDPOINTS = {"ptqrlogin", "pt4_auth", "check", "login", "logout"}


def endpoint_name(path: str) -> str:
    """``/channel/poll2`` -> ``poll2``; ``/`` -> ``""``."""
    return path.rstrip("/").rsplit("/", 1)[-1]


def create_app(world: SandboxWorld) -> Flask:
    """The WSGI app serving ``world``. Views reach it as ``app.extensions["openqq_sandbox"]``."""
    app = Flask("openqq_sync.sandbox")
    app.extensions["openqq_sandbox"] = world
    for bp in (ptlogin.bp, smartqq.bp, qun.bp, onebot_control.bp, control.bp):
        app.register_blueprint(bp)

    @app.before_request
    def _faults_and_delays() -> Optional[Response]:
        if request.path.startswith("/sandbox/") or request.path == "/sandbox":
            return None
        name = endpoint_name(request.path)
        ms = world.delay_for(name)
        if ms > 0:
            world.stopping.wait(ms / 1000.0)
        fault = world.take_fault(name)
        if fault is None:
            return None
        log.info("sandbox: fault on %s: %s", name, fault)
        if fault.hang is not None:
            world.stopping.wait(fault.hang)
            if name == "poll2":
                # The client gave up on this poll long ago: held now as the newest poll it
                # would end the client's live one and take the messages meant for it.
                return answer(IDLE_POLL)
            return None
        if fault.status is not None:
            return Response(b"", status=fault.status)
        return _fault_answer(world, name, fault.retcode)

    @app.errorhandler(404)
    def _not_found(_e: Exception) -> Response:
        return Response(b"Not Found", status=404, content_type="text/plain")

    @app.errorhandler(Exception)
    def _crash(e: Exception) -> Response:
        if hasattr(e, "code") and hasattr(e, "get_response"):
            return e.get_response()  # an HTTPException (405, 400...)
        log.exception("sandbox: error in %s", request.path)
        return Response(b"Internal Server Error", status=500, content_type="text/plain")

    return app


def _fault_answer(world: SandboxWorld, name: str, code: Optional[int]) -> Response:
    if name in _PTLOGIN_ENDPOINTS:
        return js("ptuiCB(%s, %s);" % (quote_fields(code, "0", "", "0", "sandbox fault"), quote_fields("")))
    if request.path.startswith("/cgi-bin/"):
        return answer({"ec": code, "em": "sandbox fault"})
    if name == "poll2" and code == 116:
        # A new ptwebqq for the client (7.2); the friend hash follows it (16.3).
        r = form_r() or {}
        s = world.session(r.get("psessionid"), r.get("clientid"))
        if s is not None:
            p = s.grant.ptwebqq = "".join(reversed(s.grant.ptwebqq))
            world.set_hash_ptwebqq(s.grant, p)
            return answer({"retcode": 116, "p": p})
    return answer({"retcode": code, "errmsg": "sandbox fault"})
