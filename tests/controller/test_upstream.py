"""The controller's connections to its clients: kept alive, retried once when the client closed
an idle one, never reused when an answer was left half read."""

from __future__ import annotations

import http.server
import threading
from typing import List

import pytest

from openqq_sync.controller.upstream import Upstream


class _Server:
    """HTTP/1.1 on loopback; ``drop_after`` answers per connection, then it closes the
    connection without saying so (as a server does with an idle keep-alive connection)."""

    def __init__(self, drop_after: int, body: bytes = b"ok") -> None:
        self.connections: List[int] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                outer.connections.append(1)
                self.answered = 0

            def do_GET(self) -> None:  # noqa: N802
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.answered += 1
                if self.answered >= drop_after:
                    self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       name="test-upstream-server")
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def upstream():
    u = Upstream(timeout=5)
    yield u
    u.close()


def get(upstream: Upstream, port: int) -> bytes:
    conn, resp = upstream.request(port, "GET", "/x", b"", {})
    body = upstream.body(port, conn, resp)
    try:
        return b"".join(body)
    finally:
        body.close()


def test_keep_alive_reuse_and_retry_after_the_server_closed(upstream):
    srv = _Server(drop_after=1000)
    try:
        assert [get(upstream, srv.port) for _ in range(3)] == [b"ok"] * 3
        assert len(srv.connections) == 1                  # one connection, kept alive
    finally:
        srv.close()
    closing = _Server(drop_after=1)
    try:
        assert [get(upstream, closing.port) for _ in range(3)] == [b"ok"] * 3
        assert len(closing.connections) == 3              # each closed one replaced, no error
    finally:
        closing.close()


def test_a_half_read_answer_closes_its_connection(upstream):
    srv = _Server(drop_after=1000, body=b"x" * 200_000)
    try:
        conn, resp = upstream.request(srv.port, "GET", "/x", b"", {})
        body = upstream.body(srv.port, conn, resp)
        first = next(iter(body))
        assert 0 < len(first) < 200_000
        body.close()                                      # the caller went away
        assert get(upstream, srv.port) == b"x" * 200_000
        assert len(srv.connections) == 2                  # the half-read one was not reused
    finally:
        srv.close()
