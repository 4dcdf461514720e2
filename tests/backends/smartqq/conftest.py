"""Fixtures of the protocol tests: ``responses`` mocks, a plain Transport, and a tiny loopback
HTTP server that answers any Host."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Dict, List, Optional, Tuple

import pytest
import responses

from openqq_sync.backends.smartqq.transport import Transport
from openqq_sync.config import Config

Reply = Tuple[int, List[Tuple[str, str]], bytes]


@dataclass
class Seen:
    method: str
    path: str
    headers: Dict[str, str]
    body: bytes


@dataclass
class LoopbackServer:
    """Routes by path (without query); records every request it receives."""

    routes: Dict[str, Callable[[Seen], Reply]] = field(default_factory=dict)
    seen: List[Seen] = field(default_factory=list)
    got_request: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    url: str = ""

    def route(self, path: str, status: int = 200, body: bytes | str = b"",
              headers: Optional[List[Tuple[str, str]]] = None) -> None:
        raw = body.encode("utf-8") if isinstance(body, str) else body
        self.routes[path] = lambda seen: (status, list(headers or []), raw)


def _handler(server: LoopbackServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # keep test output quiet
            pass

        def _serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            seen = Seen(self.command, self.path, {k: v for k, v in self.headers.items()},
                        self.rfile.read(length) if length else b"")
            server.seen.append(seen)
            server.got_request.set()
            route = server.routes.get(self.path.split("?", 1)[0])
            status, headers, body = route(seen) if route else (404, [], b"no route")
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _serve

    return Handler


@pytest.fixture
def rsps():
    """Every request mocked; each registered answer must be asked for."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as r:
        yield r


@pytest.fixture
def t(tmp_path):
    """A Transport with the default Config (tmpdir in the test's own directory)."""
    return Transport(Config(tmpdir=str(tmp_path)))


@pytest.fixture
def httpd():
    state = LoopbackServer()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    srv.daemon_threads = True
    state.url = "http://127.0.0.1:%d" % srv.server_address[1]
    thread = threading.Thread(target=srv.serve_forever, name="test-httpd", kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        srv.shutdown()
        srv.server_close()
        thread.join(5)


@pytest.fixture
def routed(httpd, tmp_path):
    """A Transport whose *.qq.com traffic goes to the loopback server."""
    t = Transport(Config(server=httpd.url, tmpdir=str(tmp_path)))
    yield t
    t.close()
