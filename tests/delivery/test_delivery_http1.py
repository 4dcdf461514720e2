"""post_api's own HTTP/1.1 client (delivery/_http1.py) against a scripted server on loopback:
every way an answer can be delimited, interim answers, closing, and broken answers."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from typing import List, Tuple

import pytest

from openqq_sync.delivery._http1 import Http1Connection
from openqq_sync.delivery.post_api import _Connection


class Scripted:
    """Accepts connections; answers each request read with the next scripted bytes (None:
    close the connection instead of answering). Records (connection number, request head,
    body)."""

    def __init__(self, answers: List[bytes], close_after: bool = False) -> None:
        self.answers = list(answers)
        self.close_after = close_after
        self._stop = threading.Event()
        self.requests: List[Tuple[int, bytes, bytes]] = []
        self.connections = 0
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.05)      # so close() is seen: a blocked accept is not woken
        self.port = self._server.getsockname()[1]
        self._thread = threading.Thread(target=self._run, name="test-http1-server", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while self.answers and not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(None)
            self.connections += 1
            with conn:
                self._serve(conn, self.connections)

    def _serve(self, conn: socket.socket, number: int) -> None:
        data = b""
        while self.answers:
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, rest = data.partition(b"\r\n\r\n")
            length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:"))
            while len(rest) < length:
                rest += conn.recv(65536)
            self.requests.append((number, head, rest[:length]))
            data = rest[length:]
            answer = self.answers.pop(0)
            if answer is None:
                return
            conn.sendall(answer)
            if self.close_after or b"Connection: close" in answer or answer.startswith(b"HTTP/1.0"):
                return

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._server.close()


@pytest.fixture
def script():
    made = []

    def factory(*answers, close_after=False):
        s = Scripted(list(answers), close_after)
        made.append(s)
        return s
    yield factory
    for s in made:
        s.close()


def ok(body: bytes, extra: str = "") -> bytes:
    return (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
            .encode("latin-1") + body)


REPLY = json.dumps({"reply": "收到 ✓"}, ensure_ascii=False).encode("utf-8")


def test_posts_share_one_kept_alive_connection_and_send_what_they_are_given(script):
    s = script(ok(REPLY), ok(b"{}"))
    c = Http1Connection("127.0.0.1", s.port, https=False, timeout=5)
    body = json.dumps({"content": "你好"}, ensure_ascii=False).encode("utf-8")
    status, headers, content = c.post("/post?k=1", body, {"Content-Type": "application/json", "X-Self-ID": "42"})
    assert (status, headers["content-type"], json.loads(content)) == (200, "application/json", {"reply": "收到 ✓"})
    assert c.post("/post?k=1", b"{}", {})[0] == 200
    c.close()
    assert s.connections == 1 and [r[0] for r in s.requests] == [1, 1]
    head = s.requests[0][1].decode("latin-1").split("\r\n")
    assert head[0] == "POST /post?k=1 HTTP/1.1"
    assert f"Host: 127.0.0.1:{s.port}" in head and "X-Self-ID: 42" in head
    assert f"Content-Length: {len(body)}" in head and s.requests[0][2] == body


def test_a_chunked_answer_with_trailers_and_a_folded_header(script):
    chunked = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json;\r\n charset=UTF-8\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n"
               + b"%x\r\n" % 5 + REPLY[:5] + b"\r\n"
               + b"%x; ext=1\r\n" % (len(REPLY) - 5) + REPLY[5:] + b"\r\n0\r\nX-Trailer: t\r\n\r\n")
    s = script(chunked, ok(b"after"))
    c = Http1Connection("127.0.0.1", s.port, https=False, timeout=5)
    status, headers, content = c.post("/", b"{}", {})
    assert content == REPLY and headers["content-type"] == "application/json; charset=UTF-8"
    assert c.post("/", b"{}", {})[2] == b"after"         # the connection was left at the next answer
    c.close()
    assert s.connections == 1


def test_interim_answers_are_skipped_and_an_empty_204_ends_at_its_head(script):
    s = script(b"HTTP/1.1 100 Continue\r\n\r\n" + ok(REPLY), b"HTTP/1.1 204 No Content\r\n\r\n", ok(b"x"))
    c = Http1Connection("127.0.0.1", s.port, https=False, timeout=5)
    assert c.post("/", b"{}", {})[::2] == (200, REPLY)
    assert c.post("/", b"{}", {})[::2] == (204, b"")
    assert c.post("/", b"{}", {})[2] == b"x"
    c.close()
    assert s.connections == 1


@pytest.mark.parametrize("answer", [
    b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end",      # delimited by closing
    b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 13\r\n\r\nuntil the end",
])
def test_an_answer_that_closes_is_read_whole_and_the_next_post_reconnects(script, answer):
    s = script(answer, ok(b"again"))
    c = Http1Connection("127.0.0.1", s.port, https=False, timeout=5)
    assert c.post("/", b"{}", {})[2] == b"until the end"
    assert not c.is_open
    assert c.post("/", b"{}", {})[2] == b"again"
    c.close()
    assert s.connections == 2


@pytest.mark.parametrize("answer, error", [
    (b"SPAM\r\n\r\n", http.client.BadStatusLine),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", http.client.IncompleteRead),
    (b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n", http.client.HTTPException),
    (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", http.client.HTTPException),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", http.client.HTTPException),
    (b"HTTP/1.1 200 OK\r\nX: " + b"y" * 70000 + b"\r\n\r\n", http.client.LineTooLong),
    (b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 101 + b"\r\n", http.client.HTTPException),
])
def test_broken_answers_raise_http_clients_errors(script, answer, error):
    s = script(answer, close_after=True)
    c = Http1Connection("127.0.0.1", s.port, https=False, timeout=5)
    with pytest.raises(error):
        c.post("/", b"{}", {})
    c.close()


def test_post_api_retries_once_when_the_receiver_dropped_the_idle_connection(script):
    s = script(ok(b"first"), None, ok(b"second"))      # the 2nd request finds the connection gone
    conn = _Connection(f"http://127.0.0.1:{s.port}/post", timeout=5)
    assert conn.post(b"{}", {}) == (200, "application/json", b"first")
    assert conn.post(b"{}", {}) == (200, "application/json", b"second")
    conn.close()
    assert s.connections == 2


def test_a_fresh_connection_that_gets_no_answer_is_an_error_not_a_retry(script):
    s = script(None, ok(b"never asked"))
    conn = _Connection(f"http://127.0.0.1:{s.port}/post", timeout=5)
    with pytest.raises(http.client.RemoteDisconnected):
        conn.post(b"{}", {})
    conn.close()
    assert len(s.requests) == 1


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

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):  # noqa: N802 (http.server's naming)
            data = self.rfile.read(int(self.headers["Content-Length"]))
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
        yield f"https://127.0.0.1:{server.server_address[1]}/post", str(cert)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_https_verifies_the_receivers_certificate(tls_receiver, monkeypatch):
    import ssl
    url, cert = tls_receiver
    conn = _Connection(url, timeout=5)
    with pytest.raises(ssl.SSLCertVerificationError):       # self-signed: not trusted
        conn.post(b"{}", {})
    conn.close()
    monkeypatch.setenv("SSL_CERT_FILE", cert)               # trusted now, as a CA bundle would
    conn = _Connection(url, timeout=5)
    body = json.dumps({"content": "加密"}, ensure_ascii=False).encode("utf-8")
    assert conn.post(body, {"Content-Type": "application/json"}) == (200, "application/json", body)
    assert conn.post(b"{}", {}) == (200, "application/json", b"{}")
    conn.close()
