"""A scripted OneBot v11 WebSocket server on loopback, for the connection and action tests."""

from __future__ import annotations

import json
import threading
from typing import Any, Callable, Dict, List, Optional

from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Response
from websockets.sync.server import Server, ServerConnection, serve

# handler(params, frame) -> answer dict (status/retcode/data) or None for no answer
Handler = Callable[[Dict[str, Any], Dict[str, Any]], Optional[Dict[str, Any]]]


def ok(data: Any = None) -> Dict[str, Any]:
    return {"status": "ok", "retcode": 0, "data": data}


class FakeOneBot:
    """Answers actions through ``handlers``; ``push()`` sends an event to every client.

    ``token``: required Bearer token; ``reject_with`` = "http" refuses a bad one at the
    handshake (401), "1403" accepts the socket, sends NapCat's failed frame and closes.
    """

    def __init__(self, port: int = 0, *, token: Optional[str] = None, reject_with: str = "http",
                 heartbeat: Optional[Dict[str, Any]] = None) -> None:
        self.handlers: Dict[str, Handler] = {}
        self.token = token
        self.reject_with = reject_with
        self.heartbeat = heartbeat  # sent once right after lifecycle/connect
        self.conns: List[ServerConnection] = []
        self.requests: List[Dict[str, Any]] = []
        self.auth_headers: List[Optional[str]] = []
        self.connected = threading.Condition()
        self._server: Server = serve(self._handle, "127.0.0.1", port, process_request=self._check,
                                     compression=None)
        self.port = self._server.socket.getsockname()[1]
        self.url = f"ws://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-onebot", daemon=True)
        self._thread.start()

    def _authorized(self, value: Optional[str]) -> bool:
        return self.token is None or value == f"Bearer {self.token}"

    def _check(self, conn: ServerConnection, request: Any) -> Optional[Response]:
        value = request.headers.get("Authorization")
        self.auth_headers.append(value)
        if not self._authorized(value) and self.reject_with == "http":
            return Response(401, "Unauthorized", Headers(), b"token verify failed")
        return None

    def _handle(self, conn: ServerConnection) -> None:
        if not self._authorized(conn.request.headers.get("Authorization")):
            conn.send(json.dumps({"status": "failed", "retcode": 1403, "data": None, "echo": None,
                                  "message": "token verify failed"}))
            conn.close()
            return
        conn.send(json.dumps({"time": 1, "self_id": 10000, "post_type": "meta_event",
                              "meta_event_type": "lifecycle", "sub_type": "connect"}))
        if self.heartbeat is not None:
            conn.send(json.dumps(self.heartbeat))
        with self.connected:
            self.conns.append(conn)
            self.connected.notify_all()
        try:
            for frame in conn:
                request = json.loads(frame)
                self.requests.append(request)
                handler = self.handlers.get(request["action"])
                answer = handler(request.get("params") or {}, request) if handler else {
                    "status": "failed", "retcode": 1404, "data": None, "wording": "不支持的Api"}
                if answer is not None:
                    conn.send(json.dumps(dict(answer, echo=request.get("echo")), ensure_ascii=False))
        except ConnectionClosed:
            pass

    def wait_connections(self, n: int, timeout: float = 5.0) -> bool:
        with self.connected:
            return self.connected.wait_for(lambda: len(self.conns) >= n, timeout)

    def push(self, event: Dict[str, Any]) -> None:
        for conn in list(self.conns):
            try:
                conn.send(json.dumps(event, ensure_ascii=False))
            except ConnectionClosed:
                pass

    def stop(self) -> None:
        """Stop listening and close every connection (websockets 15's shutdown leaves
        open connections alone)."""
        self._server.shutdown()
        for conn in list(self.conns):
            conn.close()
        self._thread.join(5)
