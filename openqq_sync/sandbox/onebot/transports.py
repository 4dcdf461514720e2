"""The four OneBot v11 transports of a ``OneBotFace``, as NapCat runs them (onebot.md 2.1).

* ``ForwardServer``: WebSocket server (``websockets`` threading API). ``/api`` carries actions
  only; every other path (``/``, ``/event``) gets ``lifecycle/connect`` first, then events and
  heartbeats, and carries actions too. A bad token gets retcode 1403, then a close.
* ``HttpApiServer``: ``GET``/``POST /<action>`` with query, form or JSON parameters (the query
  wins). A bad token: HTTP 403 ``{"message": "token verify failed!"}``; an unknown action:
  HTTP 404 with retcode 1404; a body that is not JSON: HTTP 400.
* ``ReverseClient``: connects out with ``X-Self-ID``, ``X-Client-Role: Universal`` and the
  Bearer token, serves actions and events on that connection, reconnects after the interval.
* ``HttpPoster``: POSTs every event with ``X-Self-ID`` and, when a token is set,
  ``X-Signature: sha1=<HMAC-SHA1(token, body)>``.

The token is read from ``access_token`` in the query, else ``Authorization: Bearer``.
Threads (prefix ``openqq-sandbox-onebot-``): ``ws`` (accept loop) and one ``ws-conn`` per
connection, ``http`` and one ``http-req`` per connection, ``reverse``, ``post``. ``stop()``
closes every socket and joins them.
"""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import logging
import queue
import socket
import threading
import urllib.request
from typing import Any, Dict, Optional, Set
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.sync.server import ServerConnection, serve

from .face import OneBotFace, dumps, envelope, named_thread

log = logging.getLogger(__name__)

_BAD_TOKEN_WS = dumps({"status": "failed", "retcode": 1403, "data": None, "message": "token验证失败",
                       "wording": "token验证失败", "stream": "normal-action"})
_BAD_TOKEN_HTTP = b'{"message":"token verify failed!"}'


def _token_of(query: Dict[str, str], authorization: Optional[str]) -> str:
    if query.get("access_token"):
        return query["access_token"]
    auth = authorization or ""
    return auth[len("Bearer "):] if auth.startswith("Bearer ") else auth


def _query(target: str) -> Dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(target).query, keep_blank_values=True).items()}


def answer_frame(face: OneBotFace, raw: Any) -> str:
    """The answer to one action frame (echo returned unchanged, whatever its JSON type)."""
    try:
        call = json.loads(raw)
    except ValueError:
        return dumps(envelope(None, 1400, "json解析失败,请检查数据格式"))
    if not isinstance(call, dict):
        return dumps(envelope(None, 1400, "json解析失败,请检查数据格式"))
    out = face.handle(call.get("action"), call.get("params") or {})
    if "echo" in call:
        out["echo"] = call["echo"]
    return dumps(out)


class _Abortable:
    """Keeps a connection's socket (a documented constructor argument) so a fault can drop it
    without a close frame."""

    raw: socket.socket

    def abort(self) -> None:
        try:
            self.raw.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class _ServerConn(ServerConnection, _Abortable):
    def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
        super().__init__(sock, *args, **kwargs)
        self.raw = sock


class _ClientConn(ClientConnection, _Abortable):
    def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
        super().__init__(sock, *args, **kwargs)
        self.raw = sock


class _WsConsumer:
    def __init__(self, conn: Any, label: str) -> None:
        self.conn, self.label = conn, label

    def push(self, text: str) -> None:
        self.conn.send(text)

    def __str__(self) -> str:
        return self.label


def _serve_actions(face: OneBotFace, conn: Any) -> None:
    try:
        for raw in conn:
            conn.send(answer_frame(face, raw))
    except ConnectionClosed:
        pass


class ForwardServer:
    def __init__(self, face: OneBotFace, host: str, port: int) -> None:
        self.face, self.host, self.port = face, host, port
        self._server: Any = None
        self._thread: Optional[threading.Thread] = None
        self._lock = threading.Lock()
        self._conns: Set[Any] = set()
        self._handlers: Set[threading.Thread] = set()

    def start(self) -> "ForwardServer":
        self._server = serve(self._handle, self.host, self.port, create_connection=_ServerConn, compression=None,
                             max_size=50 * 2 ** 20)
        self.port = self._server.socket.getsockname()[1]
        self._thread = named_thread(self._server.serve_forever, "openqq-sandbox-onebot-ws")
        self._thread.start()
        return self

    def _handle(self, conn: Any) -> None:
        me = threading.current_thread()
        me.name = "openqq-sandbox-onebot-ws-conn"
        with self._lock:
            if self.face.stopping.is_set():
                return
            self._conns.add(conn)
            self._handlers.add(me)
        consumer = None
        try:
            req = conn.request
            face = self.face
            if face.token and _token_of(_query(req.path), req.headers.get("Authorization")) != face.token:
                conn.send(_BAD_TOKEN_WS)
                conn.close()
                return
            path = urlsplit(req.path).path.rstrip("/")
            if path != "/api":
                consumer = _WsConsumer(conn, "ws %s %s:%s" % (path or "/", *conn.remote_address[:2]))
                face.add_consumer(consumer, first=face.lifecycle())
            _serve_actions(face, conn)
        except ConnectionClosed:
            pass
        finally:
            if consumer is not None:
                self.face.remove_consumer(consumer)
            with self._lock:
                self._conns.discard(conn)

    def abort_all(self) -> int:
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            c.abort()
        return len(conns)

    def stop(self, timeout: float) -> None:
        if self._server is not None:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout)
        with self._lock:
            conns, handlers = list(self._conns), list(self._handlers)
        for c in conns:
            c.close()
        for t in handlers:
            t.join(timeout)


class _HttpApiHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_HttpServer"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("onebot http: " + format, *args)

    def do_GET(self) -> None:
        self._serve(b"")

    def do_POST(self) -> None:
        try:
            n = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            n = -1
        if n < 0 or n > 50 * 2 ** 20:
            self._reply(400, b"Bad Content-Length", "text/plain")
            return
        self._serve(self.rfile.read(n))

    def _reply(self, status: int, body: bytes, ctype: str = "application/json; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _serve(self, body: bytes) -> None:
        face = self.server.face
        query = _query(self.path)
        if face.token and _token_of(query, self.headers.get("Authorization")) != face.token:
            self._reply(403, _BAD_TOKEN_HTTP)
            return
        params: Dict[str, Any] = {}
        if body.strip():
            if self.headers.get_content_type() == "application/x-www-form-urlencoded":
                params = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
            else:
                try:
                    params = json.loads(body)
                except ValueError:
                    params = None  # type: ignore[assignment]
                if not isinstance(params, dict):
                    self._reply(400, b"Invalid JSON", "text/plain")
                    return
        params.update(query)
        params.pop("access_token", None)
        action = urlsplit(self.path).path.strip("/").split("/")[0]
        if not action:
            out = envelope({}, 0, "openqq sandbox OneBot v11")
            status = 200
        else:
            out = face.handle(action, params, http=True)
            status = 404 if out["retcode"] == 1404 else 200
        if "echo" in params:
            out["echo"] = params["echo"]
        self._reply(status, dumps(out).encode("utf-8"))


class _HttpServer(http.server.HTTPServer):
    """One named thread per connection, all of them tracked so ``stop()`` can join them."""

    def __init__(self, face: OneBotFace, addr: Any) -> None:
        self.face = face
        self.lock = threading.Lock()
        self.requests: Dict[threading.Thread, socket.socket] = {}
        super().__init__(addr, _HttpApiHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        t = threading.Thread(target=self._one, args=(request, client_address),
                             name="openqq-sandbox-onebot-http-req", daemon=True)
        with self.lock:
            self.requests[t] = request
        t.start()

    def _one(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            with self.lock:
                self.requests.pop(threading.current_thread(), None)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("onebot http: connection from %s ended with an error", client_address, exc_info=True)


class HttpApiServer:
    def __init__(self, face: OneBotFace, host: str, port: int) -> None:
        self.face = face
        self._server = _HttpServer(face, (host, port))
        self.port = self._server.server_address[1]
        self._thread = named_thread(lambda: self._server.serve_forever(poll_interval=0.1),
                                    "openqq-sandbox-onebot-http")

    def start(self) -> "HttpApiServer":
        self._thread.start()
        return self

    def stop(self, timeout: float) -> None:
        self._server.shutdown()
        self._thread.join(timeout)
        self._server.server_close()
        with self._server.lock:
            live = dict(self._server.requests)
        for t, sock in live.items():
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes a keep-alive connection waiting for its next request
            except OSError:
                pass
            t.join(timeout)


class ReverseClient:
    def __init__(self, face: OneBotFace, url: str) -> None:
        self.face, self.url = face, url
        self._conn: Any = None
        self._lock = threading.Lock()
        self._thread = named_thread(self._run, "openqq-sandbox-onebot-reverse")
        self.connects = 0

    def start(self) -> "ReverseClient":
        self._thread.start()
        return self

    def _headers(self) -> Dict[str, str]:
        h = {"X-Self-ID": str(self.face.self_id), "X-Client-Role": "Universal", "User-Agent": "openqq-sandbox"}
        if self.face.token:
            h["Authorization"] = "Bearer " + self.face.token
        return h

    def _run(self) -> None:
        face = self.face
        while not face.stopping.is_set():
            try:
                with connect(self.url, additional_headers=self._headers(), open_timeout=5, proxy=None,
                             compression=None, create_connection=_ClientConn, max_size=50 * 2 ** 20) as conn:
                    self._serve(conn)
            except ConnectionClosed:
                pass
            except Exception as e:
                log.info("onebot: reverse WebSocket to %s failed (%s); retry in %.1f s", self.url, e,
                         face.reconnect_ms / 1000)
            face.stopping.wait(face.reconnect_ms / 1000.0)

    def _serve(self, conn: Any) -> None:
        face = self.face
        with self._lock:
            if face.stopping.is_set():
                return
            self._conn = conn
        self.connects += 1
        consumer = _WsConsumer(conn, "reverse %s" % self.url)
        try:
            face.add_consumer(consumer, first=face.lifecycle())
            _serve_actions(face, conn)
        finally:
            face.remove_consumer(consumer)
            with self._lock:
                self._conn = None

    def abort_all(self) -> int:
        with self._lock:
            conn = self._conn
        if conn is None:
            return 0
        conn.abort()
        return 1

    def stop(self, timeout: float) -> None:
        with self._lock:  # stopping is already set: no new connection is served after this
            conn = self._conn
        if conn is not None:
            conn.close()
        self._thread.join(timeout)


class HttpPoster:
    def __init__(self, face: OneBotFace, url: str) -> None:
        self.face, self.url = face, url
        self._queue: "queue.Queue[Optional[str]]" = queue.Queue()
        # No proxy from the environment: the target is the user's bot, usually on loopback.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self._thread = named_thread(self._run, "openqq-sandbox-onebot-post")

    def push(self, text: str) -> None:
        self._queue.put(text)

    def __str__(self) -> str:
        return "post %s" % self.url

    def start(self) -> "HttpPoster":
        self._thread.start()
        self.face.add_consumer(self, first=self.face.lifecycle("enable"))
        return self

    def _run(self) -> None:
        while True:
            text = self._queue.get()
            if text is None:
                return
            body = text.encode("utf-8")
            headers = {"Content-Type": "application/json", "X-Self-ID": str(self.face.self_id),
                       "User-Agent": "openqq-sandbox"}
            if self.face.token:
                headers["X-Signature"] = "sha1=" + hmac.new(self.face.token.encode("utf-8"), body,
                                                            hashlib.sha1).hexdigest()
            try:
                with self._opener.open(urllib.request.Request(self.url, body, headers), timeout=5) as r:
                    r.read()
            except (OSError, ValueError) as e:  # the bot is down, or the URL is not http(s)
                log.info("onebot: POST to %s failed: %s", self.url, e)

    def stop(self, timeout: float) -> None:
        self.face.remove_consumer(self)
        self._queue.put(None)
        self._thread.join(timeout)
