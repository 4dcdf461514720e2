"""Start the sandbox and the API server as separate processes, as a user deploys them."""

from __future__ import annotations

import compileall
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import List, Optional

BIN = os.path.dirname(sys.executable)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (``/proc/<pid>/stat`` utime, stime)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def compile_package() -> None:
    """Write openqq_sync's bytecode, as ``pip install`` does: an editable checkout run under
    PYTHONDONTWRITEBYTECODE has none, and every process started would compile each module from
    source, which costs it memory and start time a user's install does not pay."""
    spec = importlib.util.find_spec("openqq_sync")
    assert spec is not None and spec.submodule_search_locations
    for path in spec.submodule_search_locations:
        compileall.compile_dir(path, quiet=1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, timeout: float, ok=lambda body: True) -> bytes:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                body = r.read()
                if ok(body):
                    return body
        except OSError as e:  # not listening yet
            last = e
        time.sleep(0.05)
    raise TimeoutError(f"{url} not ready after {timeout}s ({last})")


class Proc:
    """A child process with its output in a log file; killed on close."""

    def __init__(self, args: List[str], name: str, env: Optional[dict] = None):
        self.name = name
        self.log = tempfile.NamedTemporaryFile(prefix=f"bench-{name}-", suffix=".log", delete=False)
        self.popen = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT,
                                      env={**os.environ, **(env or {})})

    def rss_peak_kb(self) -> int:
        """VmHWM of the process: its peak resident set so far."""
        with open(f"/proc/{self.popen.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return 0

    def rss_kb(self) -> int:
        with open(f"/proc/{self.popen.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    #: Seconds between SIGTERM and SIGKILL on close.
    stop_grace = 10.0

    def close(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(self.stop_grace)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self.log.close()

    def tail(self, n: int = 30) -> str:
        with open(self.log.name, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-n:])


class Sandbox(Proc):
    def __init__(self, world: str = "small", poll_hold: float = 25.0, extra: Optional[List[str]] = None,
                 port: Optional[int] = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__([os.path.join(BIN, "openqq"), "sandbox", "--port", str(self.port),
                          "--world", world, "--auto-scan", "0.05", "--auto-confirm", "0.05",
                          "--poll-hold", str(poll_hold),
                          *(extra or [])], "sandbox")
        _wait_http(self.url + "/sandbox/world", 60)

    def inject(self, **message) -> dict:
        req = urllib.request.Request(self.url + "/sandbox/message", data=json.dumps(message).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def world(self) -> dict:
        with urllib.request.urlopen(self.url + "/sandbox/world", timeout=60) as r:
            return json.loads(r.read())


class ApiServer(Proc):
    def __init__(self, sandbox_url: str, extra: Optional[List[str]] = None, start_timeout: float = 120):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.tmpdir = tempfile.mkdtemp(prefix="bench-openqq-")
        self.started = time.monotonic()
        super().__init__([os.path.join(BIN, "openqq"), "run", "--server", sandbox_url,
                          "--port", str(self.port), "--tmpdir", self.tmpdir, "--send-interval", "0",
                          "--log-level", "warning", "--qrcode-poll-interval", "0.1", "--no-show-qrcode",
                          *(extra or [])], "api")
        self.ready_seconds = self.wait_running(start_timeout)

    def wait_running(self, timeout: float) -> float:
        def running(body: bytes) -> bool:
            try:
                return json.loads(body).get("state") == "running" or "uid" in json.loads(body)
            except ValueError:
                return False
        _wait_http(self.url + "/openqq/get_user_info", timeout, running)
        return time.monotonic() - self.started

    def close(self) -> None:
        super().close()
        shutil.rmtree(self.tmpdir, ignore_errors=True)
