"""Start-up before the server is up (issue 13 item 2): ``openqq run`` started while its
server refuses connections, or names a host that does not resolve, waits for it with a
capped backoff (one warning line per attempt, no traceback), stays stoppable, and logs in
once the server answers. A failed first login that is a verdict (a 4xx) still stops.

The subprocess tests run the real ``openqq`` command; its stderr is read line by line on a
thread and waited on through a Condition.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Iterator, List, Tuple

import requests

from helpers import eventually, free_port, logged_api_url

OPENQQ = os.path.join(os.path.dirname(sys.executable), "openqq")
RETRY = "server not reachable"


class _Lines:
    """Collects a pipe's lines on a named thread; ``wait_count`` blocks on a Condition."""

    def __init__(self, stream) -> None:
        self.lines: List[str] = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(stream,), name="test-stderr",
                                        daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()

    def text(self) -> str:
        with self._cond:
            return "\n".join(self.lines)

    def count(self, text: str) -> int:
        with self._cond:
            return sum(text in line for line in self.lines)

    def wait_count(self, text: str, n: int, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: sum(text in line for line in self.lines) >= n, timeout)

    def join(self) -> None:
        self._thread.join(10)


def _run(server: str, tmp_path) -> subprocess.Popen:
    return subprocess.Popen([OPENQQ, "run", "--server", server, "--port", "0",
                             "--tmpdir", str(tmp_path), "--account", "early", "--send-interval", "0",
                             "--qrcode-poll-interval", "0.05", "--no-show-qrcode",
                             "--no-show-message", "--log-level", "info"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            encoding="utf-8")


def _state(url: str) -> str:
    try:
        return requests.get(url + "/openqq/get_client_info", timeout=2).json()["state"]
    except requests.RequestException:
        return ""


@contextlib.contextmanager
def _openqq_run(server: str, tmp_path) -> Iterator[Tuple[subprocess.Popen, _Lines]]:
    """``openqq run`` against ``server``, its stderr read line by line. On leaving the block the
    process is killed if it still runs, and its stderr has been read to the end."""
    proc = _run(server, tmp_path)
    err = _Lines(proc.stderr)
    try:
        yield proc, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        err.join()


def test_run_started_3_s_before_its_sandbox_logs_in_once_it_is_up(make_sandbox, tmp_path):
    sandbox_port = free_port()   # the sandbox comes up later on an address known now
    started = time.monotonic()
    with _openqq_run(f"http://127.0.0.1:{sandbox_port}", tmp_path) as (proc, err):
        url = logged_api_url(err.text, proc)
        # Refused connections: it keeps trying (1 s, then 2 s) and the API already answers.
        assert err.wait_count(RETRY, 2, timeout=20), err.lines
        assert proc.poll() is None
        assert _state(url) == "loading"
        assert requests.get(url + "/openqq/get_user_info", timeout=5).json()["code"] == 503
        time.sleep(max(0.0, 3.0 - (time.monotonic() - started)))   # the stated 3 s head start
        make_sandbox(port=sandbox_port)
        eventually(lambda: _state(url) == "running", timeout=40, interval=0.1)
        info = requests.get(url + "/openqq/get_user_info", timeout=5).json()
        assert info["id"] and info["name"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    retries = [line for line in err.lines if RETRY in line]
    assert retries and all("[WARNING]" in line and "Connection refused (127.0.0.1:" in line for line in retries)
    assert not any("Traceback" in line for line in err.lines), err.lines


def test_a_server_name_that_does_not_resolve_keeps_retrying_and_sigterm_ends_it(tmp_path):
    with _openqq_run("http://nonexistent.invalid:1", tmp_path) as (proc, err):
        assert err.wait_count(RETRY, 2, timeout=20), err.lines
        assert proc.poll() is None
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        assert time.monotonic() - signalled < 5.0
    retries = [line for line in err.lines if RETRY in line]
    assert all("Name or service not known (nonexistent.invalid:1)" in line or
               "resolution" in line for line in retries), retries
    assert not any("Traceback" in line for line in err.lines), err.lines
    assert not any("login failed" in line for line in err.lines)


def test_first_login_waits_out_a_service_answering_503(make_sandbox, make_client):
    """In process: the QR download answers 503 twice (one try: 2 attempts), then works."""
    srv = make_sandbox()
    srv.world.add_fault("ptqrshow", count=4, status=503)
    client, rec = make_client(srv.url)
    assert client.wait_for_state("running", 20), client.error
    assert client.error is None and [kw["is_scan"] for kw in rec.of("login")] == [1]


def test_a_first_login_answered_404_still_stops_the_client(make_sandbox, make_client):
    """A 4xx is a verdict (a wrong --server, say): the client stops with the error, as the
    original did, instead of retrying forever."""
    srv = make_sandbox()
    srv.world.add_fault("ptqrshow", count=2, status=404)
    client, rec = make_client(srv.url)
    assert client.join(20)
    assert client.state == "stop" and "login failed" in client.error and "404" in client.error


def test_stop_ends_the_waiting_at_once(make_client):
    """In process, nothing listening: stop() during the backoff returns within a second
    and every client thread is gone."""
    seen = threading.Event()

    class Retries(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if RETRY in record.getMessage() and "attempt 2 " in record.getMessage():
                seen.set()

    handler = Retries()
    logging.getLogger("openqq_sync.client").addHandler(handler)
    try:
        client, rec = make_client(f"http://127.0.0.1:{free_port()}", poll_retry_max_delay=30)
        assert seen.wait(20)
        assert client.state == "loading" and client.error is None
        started = time.monotonic()
        client.stop(timeout=5)
        assert time.monotonic() - started < 1.0
        assert client.join(1) and client.state == "stop" and client.error is None
    finally:
        logging.getLogger("openqq_sync.client").removeHandler(handler)
