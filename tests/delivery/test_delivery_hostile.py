"""Answers from others (issue 17): a post_api receiver or poll_api server that answers with a
huge Content-Length, drips its answer, or never ends a chunked body costs one bad answer
(read within the deadline and the size cap, logged and counted), never the worker; a
poll_api redirect reaches only the address the API is bound to; HTTPS is verified."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time

import pytest

from openqq_sync.delivery import Heartbeat, PostApiReporter
from stacks import Receiver, StubClient, eventually

CAP = 64 * 1024
#: Loopback socket buffers (sender and receiver) hold a few MB the client never read.
KERNEL_SLACK = 16 * 1024 * 1024
OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"


class Hostile:
    """A raw HTTP/1.1 server on loopback: the first request gets ``mode``'s answer, later
    ones a plain 200. Records request bodies and counts the answer bytes it wrote."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.bodies: list = []
        self.written = 0
        self.closed_by_peer = threading.Event()
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.05)
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/post"
        self._threads = [threading.Thread(target=self._accept, name="test-hostile", daemon=True)]
        self._threads[0].start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            t = threading.Thread(target=self._serve, args=(conn,), name="test-hostile-conn", daemon=True)
            self._threads.append(t)
            t.start()

    def _serve(self, conn: socket.socket) -> None:
        rfile = conn.makefile("rb")
        try:
            while not self._stop.is_set():
                head = []
                while True:
                    line = rfile.readline()
                    if not line:
                        return
                    if line in (b"\r\n", b"\n"):
                        break
                    head.append(line.decode("latin-1"))
                length = next((int(h.split(":", 1)[1]) for h in head if h.lower().startswith("content-length")), 0)
                body = rfile.read(length)
                with self._cond:
                    self.bodies.append(json.loads(body) if body else head[0].split()[1])
                    first = len(self.bodies) == 1
                    self._cond.notify_all()
                if not first:
                    conn.sendall(OK)
                    continue
                getattr(self, "_" + self.mode)(conn)
                return
        except OSError:
            self.closed_by_peer.set()
        finally:
            rfile.close()
            conn.close()

    def _send(self, conn: socket.socket, data: bytes) -> None:
        conn.sendall(data)
        with self._cond:
            self.written += len(data)

    def _huge_length(self, conn: socket.socket) -> None:
        self._send(conn, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 10000000000000\r\n\r\n" + b"x" * 1000)
        conn.settimeout(5)
        if conn.recv(1) == b"":
            self.closed_by_peer.set()

    def _garbage(self, conn: socket.socket) -> None:
        self._send(conn, b"220 smtp.example ESMTP ready\r\n\r\n")

    def _drip(self, conn: socket.socket) -> None:
        answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n" + b" " * 100
        for i in range(len(answer)):
            if self._stop.wait(0.05):
                return
            self._send(conn, answer[i:i + 1])

    def _endless_chunks(self, conn: socket.socket) -> None:
        self._send(conn, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"10000\r\n" + b"{" * 0x10000 + b"\r\n"
        while not self._stop.is_set():
            self._send(conn, chunk)

    def wait_bodies(self, n: int, timeout: float = 5.0) -> list:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.bodies) >= n, timeout), self.bodies
            return list(self.bodies)

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(5)
        self._sock.close()


@pytest.fixture
def hostile():
    made = []

    def factory(mode):
        made.append(Hostile(mode))
        return made[-1]

    yield factory
    for h in made:
        h.close()


@pytest.mark.parametrize("mode", ["huge_length", "drip", "endless_chunks", "garbage"])
def test_a_hostile_post_api_answer_costs_one_report_never_the_worker(hostile, mode, caplog):
    server = hostile(mode)
    rep = PostApiReporter(server.url, account="test", timeout=1.0, max_answer=CAP, workers=1)
    rep.start()
    try:
        with caplog.at_level(logging.WARNING, logger="openqq_sync.delivery.post_api"):
            started = time.monotonic()
            rep.submit(json.dumps({"n": 0}).encode())
            rep.submit(json.dumps({"n": 1, "content": "之后"}, ensure_ascii=False).encode())
            bodies = server.wait_bodies(2, timeout=5)
            assert time.monotonic() - started < 3          # the deadline (1 s), not the drip's 10 s
            eventually(lambda: rep.stats.delivered == 2)
        assert [b["n"] for b in bodies] == [0, 1]          # the first is not sent again
        assert rep.stats.bad_answers == 1 and rep.stats.retries == 0
        assert len([r for r in caplog.records if "counts as delivered" in r.getMessage()]) == 1
        assert server.written <= CAP + KERNEL_SLACK        # read up to the cap, not to the end
    finally:
        rep.stop(1)


def test_a_huge_content_length_is_refused_before_reading(hostile, caplog):
    server = hostile("huge_length")
    rep = PostApiReporter(server.url, account="test", timeout=5.0, max_answer=CAP, workers=1)
    rep.start()
    try:
        rep.submit(b"{}")
        assert server.closed_by_peer.wait(2)               # closed at once, no 5 s wait
        eventually(lambda: rep.stats.bad_answers == 1)
        assert "10000000000000 bytes, over the 65536 byte cap" in rep.stats.last_error
    finally:
        rep.stop(1)


@pytest.mark.parametrize("mode", ["huge_length", "drip", "endless_chunks", "garbage"])
def test_a_hostile_poll_api_server_never_stops_the_heartbeat(hostile, mode):
    server = hostile(mode)
    with Receiver() as own:
        hb = Heartbeat(StubClient(state="running"), server.url, own_address=lambda: ("127.0.0.1", own.port),
                       interval=0.01, timeout=1.0, account="test", max_answer=CAP)
        hb.start()
        try:
            server.wait_bodies(3, timeout=5)               # it went on polling after the bad answer
            assert hb.bad_answers == 1
            assert server.written <= CAP + KERNEL_SLACK
        finally:
            hb.stop()


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback")
def test_a_redirect_to_the_other_loopback_family_never_gets_the_token(caplog):
    """The API listens on 127.0.0.1; another program listens on [::1] at the same port. A
    poll_api redirect to [::1] is refused: the impostor gets nothing, the API is unaffected."""
    with Receiver() as own:
        impostor = socket.create_server(("::1", own.port), family=socket.AF_INET6)
        impostor.settimeout(0.05)
        try:
            location = f"http://[::1]:{own.port}/openqq/get_user_info"
            with Receiver(lambda req: (302, {"Location": location}, b"")) as remote, \
                    caplog.at_level(logging.WARNING, logger="openqq_sync.delivery.heartbeat"):
                hb = Heartbeat(StubClient(state="running"), remote.url, own_address=lambda: ("127.0.0.1", own.port),
                               interval=0.01, token="S3cretTok", account="test")
                hb.start()
                try:
                    remote.wait_for(lambda reqs: len(reqs) >= 3)
                finally:
                    hb.stop()
            with pytest.raises(TimeoutError):
                impostor.accept()
            assert own.requests == []
            assert "poll_api redirect refused" in caplog.text and "S3cretTok" not in caplog.text
        finally:
            impostor.close()


@pytest.fixture
def tls_receiver(tmp_path):
    """An HTTPS receiver on 127.0.0.1 with a fresh self-signed certificate (openssl CLI)."""
    import http.server
    import shutil
    import ssl
    import subprocess
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    got = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):  # noqa: N802 (http.server's naming)
            data = self.rfile.read(int(self.headers["Content-Length"]))
            got.append(json.loads(data))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="test-tls-receiver", daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/post", str(cert), got
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_https_verifies_the_receivers_certificate(tls_receiver, monkeypatch):
    url, cert, got = tls_receiver
    untrusting = PostApiReporter(url, account="test", timeout=2.0, backoff=(0.01, 0.05), workers=1)
    untrusting.start()
    untrusting.submit(b'{"n": 0}')
    eventually(lambda: untrusting.stats.retries >= 1)       # self-signed: refused, never sent
    untrusting.stop(0)
    assert "SSLCertVerificationError" in untrusting.stats.last_error and got == []
    monkeypatch.setenv("SSL_CERT_FILE", cert)               # trusted now, as a CA bundle would
    replies = []
    rep = PostApiReporter(url, account="test", timeout=2.0, workers=1,
                          on_reply=lambda ctx, answer: replies.append(answer))
    rep.start()
    try:
        rep.submit(json.dumps({"n": 1, "content": "加密"}, ensure_ascii=False).encode(), context="m")
        rep.submit(b'{"n": 2}', context="m")
        eventually(lambda: len(replies) == 2)
        assert replies == [{"n": 1, "content": "加密"}, {"n": 2}] and [b["n"] for b in got] == [1, 2]
    finally:
        rep.stop(1)
