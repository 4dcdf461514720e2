"""Stacks and stand-ins the web, delivery, reliability, ecosystem and docs tests share.

* :class:`Receiver` — a real HTTP server on loopback (port 0) that records POSTs and answers
  what the test tells it to (post_api receivers, poll_api servers).
* :class:`StubClient` — a stand-in with a state and a real ContactStore, for the routes that
  do not need a logged-in client; it has every attribute of ``Client`` the API and delivery
  read, so production code needs no fallback for it.
* :class:`LiveStack` — sandbox + real Client + Delivery + API, all on loopback.
* :func:`serve` — an ApiServer on port 0 around an app, stopped on exit.
* ``eventually`` and ``leaked_threads``, re-exported from ``tests/helpers.py``.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import threading
import time
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from helpers import eventually, leaked_threads  # noqa: F401 (re-exported)
from openqq_sync.client.contacts import ContactStore
from openqq_sync.config import Config
from openqq_sync.web import ApiServer, create_app

Answer = Tuple[int, Dict[str, str], bytes]


class Request:
    def __init__(self, method: str, path: str, headers: Dict[str, str], body: bytes) -> None:
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


class Receiver:
    """Records every request; ``respond(req) -> (status, headers, body)`` decides the answer.

    Thread-safe. Use as a context manager or call ``close()``.
    """

    def __init__(self, respond: Optional[Callable[[Request], Answer]] = None, port: int = 0) -> None:
        self.respond = respond or (lambda req: (200, {"Content-Type": "text/plain"}, b"ok"))
        self.requests: List[Request] = []
        self._cond = threading.Condition()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            wbufsize = -1       # one write per answer: headers and body apart meet Nagle + delayed ACK

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                req = Request(self.command, self.path, dict(self.headers.items()), body)
                try:
                    status, headers, out = receiver.respond(req)
                except ConnectionAbortedError:
                    self.close_connection = True
                    return
                with receiver._cond:
                    receiver.requests.append(req)
                    receiver._cond.notify_all()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_GET = do_POST = _handle

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/post"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="test-receiver", daemon=True)
        self._thread.start()

    def bodies(self) -> List[Any]:
        with self._cond:
            return [r.json() for r in self.requests if r.method == "POST"]

    def wait_for(self, pred: Callable[[List[Request]], bool], timeout: float = 5.0) -> List[Request]:
        with self._cond:
            if not self._cond.wait_for(lambda: pred(self.requests), timeout):
                raise AssertionError(f"receiver: condition not met in {timeout} s; got {len(self.requests)}")
            return list(self.requests)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)

    def __enter__(self) -> "Receiver":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def json_answer(data: Any, status: int = 200) -> Answer:
    return status, {"Content-Type": "application/json"}, json.dumps(data, ensure_ascii=False).encode()


class StubClient:
    """A client stand-in: a ``state`` (a name, like ``Client.state``), a real ContactStore,
    and recorded control calls."""

    def __init__(self, state: str = "init", account: str = "test") -> None:
        self.state = state
        self.contacts = ContactStore()
        self.user = None
        self.qrcode: Optional[bytes] = None
        self.pid = 4242
        self.starttime = int(time.time()) - 10
        self.stopped = threading.Event()
        self.relogins = 0

    def stop(self, timeout: float = 5.0) -> None:
        self.state = "stop"
        self.stopped.set()

    def describe(self) -> Dict[str, Any]:
        return {"backend": "smartqq", "server": None}

    def request_relogin(self) -> None:
        self.relogins += 1

    def load_group_members(self, group: Any) -> None:
        pass

    def load_discuss_members(self, discuss: Any) -> None:
        pass


def config(tmp_path: Any = None, **kw: Any) -> Config:
    base: Dict[str, Any] = dict(account="test", check_event_timeout=0.2, send_interval=0,
                                show_qrcode=False, qrcode_poll_interval=0.05, threads=16)
    if tmp_path is not None:
        base["tmpdir"] = str(tmp_path)
    base.update(kw)
    return Config(**base)


@contextlib.contextmanager
def serve(app: Any, threads: int = 16) -> Iterator[ApiServer]:
    server = ApiServer(app, host="127.0.0.1", port=0, threads=threads, name="test-openqq-http").start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def stub_api(client: Optional[StubClient] = None, **cfg: Any) -> Iterator[Tuple[ApiServer, StubClient, Any]]:
    """An API served over loopback for a StubClient; yields (server, client, app)."""
    client = client or StubClient()
    stop_delay = cfg.pop("_stop_delay", 0.05)
    on_stop = cfg.pop("on_stop", None)
    app = create_app(client, config(**cfg), on_stop=on_stop, _stop_delay=stop_delay)
    try:
        with serve(app) as server:
            yield server, client, app
    finally:
        app.extensions["openqq_sync"].delivery.stop(0.5)


class ApiStack:
    """A real Client for ``config``, its Delivery and the API on waitress (port 0); the
    subclasses add a sandbox (SmartQQ or OneBot) and a post_api receiver."""

    sandbox: Any
    receiver: Optional["Receiver"]

    def _serve(self, config: Config, wait_state: Optional[str]) -> None:
        from openqq_sync.client import Client
        from openqq_sync.delivery import Delivery

        self.config = config
        self.client = Client(self.config)
        self.delivery = Delivery(self.client, self.config).start()
        self.stopped = threading.Event()
        self.app = create_app(self.client, self.config, delivery=self.delivery,
                              on_stop=self.stopped.set, _stop_delay=0.05)
        self.server = ApiServer(self.app, host="127.0.0.1", port=0, threads=self.config.threads,
                                name="test-openqq-http").start()
        self.url = self.server.url
        self.client.start()
        if wait_state is not None and not self.client.wait_for_state(wait_state, 20):
            self.close()
            raise AssertionError(f"client did not reach {wait_state}: {self.client.state}")

    def posts(self, post_type: Optional[str] = None, event: Optional[str] = None) -> List[Any]:
        assert self.receiver is not None
        return [b for b in self.receiver.bodies()
                if (post_type is None or b.get("post_type") == post_type)
                and (event is None or b.get("event") == event)]

    def close(self) -> None:
        self.client.stop()
        self.delivery.stop(1.0)
        self.server.stop()
        if self.receiver is not None:
            self.receiver.close()
        self.sandbox.stop()


class LiveStack(ApiStack):
    """Sandbox + real Client + Delivery + the API on waitress, all on loopback port 0.

    ``held_polls()`` counts check_event requests waiting in the API (each on a worker thread).

    ``respond`` (the post_api receiver's answer function) can be swapped by a test; the
    receiver is started before the client so the login events reach it.
    """

    def __init__(self, tmpdir: str, *, receiver: bool = True, sandbox_kw: Optional[Dict[str, Any]] = None,
                 wait_state: str = "running", **cfg: Any) -> None:
        from openqq_sync.sandbox import SandboxServer

        kw = dict(world="small", seed=1, host="127.0.0.1", port=0, auto_scan=0.05,
                  auto_confirm=0.05, poll_hold=2.0)
        kw.update(sandbox_kw or {})
        self.sandbox = SandboxServer(**kw).start()
        self.answer: Callable[[Request], Answer] = lambda req: (200, {"Content-Type": "text/plain"}, b"ok")
        self.receiver = Receiver(lambda req: self.answer(req)) if receiver else None
        base: Dict[str, Any] = dict(server=self.sandbox.url, tmpdir=tmpdir, send_interval=0,
                                    qrcode_poll_interval=0.05, show_qrcode=False, check_event_timeout=0.5,
                                    threads=24, account="live")
        if self.receiver is not None:
            base["post_api"] = self.receiver.url
        base.update(cfg)
        self._serve(Config(**base), wait_state)
        self.world = self.sandbox.world.snapshot()

    # --- world lookups (ids are this login's) ------------------------------------------
    def friend(self, **kw: Any) -> Dict[str, Any]:
        return next(f for f in self.world["friends"] if all(f.get(k) == v for k, v in kw.items()))

    def group(self, role: Optional[str] = None, **kw: Any) -> Dict[str, Any]:
        return next(g for g in self.world["groups"]
                    if (role is None or g["role"] == role) and all(g.get(k) == v for k, v in kw.items()))

    def get(self, path: str, **params: Any) -> Any:
        import requests
        r = requests.get(self.url + path, params=params, timeout=30)
        # Browser rules: only a token (or a listed origin) brings a CORS allowance.
        assert r.headers.get("Access-Control-Allow-Origin") == ("*" if self.config.token else None)
        return r.json()

    def held_polls(self) -> int:
        return self.delivery.buffer.waiters



#: Ids of the seeded unit client's contacts (no sandbox: the store is filled by hand).
ME, FRIEND, GROUP, MEMBER, DISCUSS = 100, 11, 21, 31, 41


def poll_loop(client: Any) -> Any:
    """A PollLoop over a seeded client's runtime, to drive one receive at a time."""
    from openqq_sync.client.poller import PollLoop
    return PollLoop(client._rt, client._receiver)


def seeded_client(tmp_path: Any, account: str, **cfg: Any) -> Any:
    """A Client that never logs in, with credentials and a small contact store set by hand,
    for driving one poll or send at a time under ``responses``. Stop it with
    ``client.stop()``."""
    from openqq_sync.backends.smartqq.login import Credentials
    from openqq_sync.client import Client

    base: Dict[str, Any] = dict(account=account, tmpdir=str(tmp_path), show_qrcode=False,
                                poll_retry_max_delay=0.01, ua_retry_times=1)
    base.update(cfg)
    c = Client(Config(**base))
    c.backend.resume(Credentials(uid=9999, ptwebqq="p", vfwebqq="v", psessionid="s"))
    c._rt.set_online(True)
    store = c.contacts
    store.set_user({"id": ME, "uid": 9999, "name": "我"})
    store.merge_friends([{"id": FRIEND, "name": "张三", "category": "朋友", "uid": 1011, "state": "offline",
                          "client_type": "unknown"}])
    store.merge_groups([{"id": GROUP, "name": "群<&>", "code": 1, "uid": 2021}])
    store.merge_group_detail(store.group(GROUP), None, [{"id": MEMBER, "name": "成员", "card": None, "uid": 3031},
                                                       {"id": ME, "name": "我", "card": None}])
    store.merge_discusses([{"id": DISCUSS, "name": "讨论"}])
    store.merge_discuss_detail(store.discuss(DISCUSS), {"id": DISCUSS, "name": "讨论", "member": [
        {"id": MEMBER, "name": "讨论成员", "uid": 3031}]})
    return c
