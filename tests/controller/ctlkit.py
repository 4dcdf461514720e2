"""``openqq controller`` run as a real process (its clients are real ``openqq run`` processes),
and a look at which client processes are alive."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional

import requests

from helpers import eventually

TOKEN = "ctl-test-令牌"
_OWN: Any = object()   # get/post's default: the token this controller was started with
_LISTENING = re.compile(r"Controller API on (http://[0-9.]+:\d+)/openqq/")


class Controller:
    """``python -m openqq_sync.cli controller --port 0 ...``; ``url`` read from its log;
    ``get``/``post`` send ``OPENQQ_TOKEN`` of ``env`` (else :data:`TOKEN`) unless told otherwise."""

    def __init__(self, tmpdir: str, *args: str, env: Optional[Dict[str, str]] = None) -> None:
        self.tmpdir = tmpdir
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("OPENQQ_")}
        full_env.update(env or {})
        self.token = full_env.get("OPENQQ_TOKEN", TOKEN)
        self.log_path = os.path.join(tmpdir, f"controller-{time.monotonic_ns()}.log")
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "openqq_sync.cli", "controller", "--port", "0",
                                      "--tmpdir", tmpdir, *args], env=full_env, stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=subprocess.STDOUT)
        self.url = self._wait_url(20.0)
        self.http = requests.Session()

    def _wait_url(self, timeout: float) -> str:
        # The process says where it listens in its log; nothing else to wait on.
        def listening() -> Optional[str]:
            if self.proc.poll() is not None:
                raise RuntimeError(f"controller exited {self.proc.returncode}: {self.log()}")
            m = _LISTENING.search(self.log())
            return m.group(1) if m else None
        return eventually(listening, timeout, interval=0.05)

    def log(self) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as fh:
            return fh.read()

    def get(self, route: str, token: Optional[str] = _OWN, **params: Any) -> requests.Response:
        token = self.token if token is _OWN else token
        headers = {"Authorization": f"Bearer {token}".encode("utf-8")} if token else {}
        return self.http.get(f"{self.url}/openqq/{route}", params=params, headers=headers, timeout=40)

    def post(self, route: str, token: Optional[str] = _OWN, **kw: Any) -> requests.Response:
        token = self.token if token is _OWN else token
        headers = {"Authorization": f"Bearer {token}".encode("utf-8")} if token else {}
        headers.update(kw.pop("headers", {}))
        return self.http.post(f"{self.url}/openqq/{route}", headers=headers, timeout=40, **kw)

    def states(self) -> Dict[str, str]:
        return {c["account"]: c["state"] for c in self.get("check_client").json()["client"]}

    def wait_state(self, name: str, state: str, timeout: float = 20.0, old_pid: int = 0) -> Dict[str, Any]:
        """check_client's entry for ``name`` once it is in ``state`` (in a process other than ``old_pid``)."""
        # The clients are other processes: their state files are all there is to watch.
        def reached() -> Optional[Dict[str, Any]]:
            got = self.get("check_client", client=name).json()
            entry = got["client"][0] if got.get("code") == 0 else {}
            return entry if entry.get("state") == state and entry.get("pid") != old_pid else None
        return eventually(reached, timeout, interval=0.1)

    def signal(self, signo: int, timeout: float = 20.0) -> int:
        self.proc.send_signal(signo)
        return self.proc.wait(timeout)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.http.close()
        self._log.close()


def children_of(tmpdir: str) -> List[int]:
    """PIDs of the live controller clients whose tmpdir is ``tmpdir``."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmd = fh.read().split(b"\0")
            with open(f"/proc/{pid}/environ", "rb") as fh:
                env = fh.read().split(b"\0")
            with open(f"/proc/{pid}/stat", "rb") as fh:
                zombie = fh.read().rsplit(b")", 1)[1].split()[0] == b"Z"
        except OSError:
            continue
        if b"openqq_sync.controller.client_main" in cmd and not zombie \
                and f"OPENQQ_TMPDIR={tmpdir}".encode() in env:
            out.append(int(pid))
    return out
