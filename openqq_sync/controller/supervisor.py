"""One ``openqq run`` process per account, started, watched and stopped by the controller.

A client runs as ``python -m openqq_sync.controller.client_main --account NAME`` (that is
``openqq run``) with its options in ``OPENQQ_*`` variables (never on the command line, where
``ps`` shows them to every local user): the controller's tmpdir, ``127.0.0.1`` and a free port chosen here, and a
random token that only the controller knows, so no other local user can drive it.

The supervisor thread checks every client twice a second. A client that exited with a
non-zero status (crash, kill, failed login) is started again after a backoff of 1 s
doubling up to 60 s (back to 1 s once a run lasted 60 s); one that exited with 0 stopped
on purpose and is forgotten, and one refused for its options (status 2) is forgotten too.
The client list is saved in the tmpdir on every change (``state.Files``).
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from .state import Files, pid_alive, pid_running, read_pid

log = logging.getLogger(__name__)

BACKOFF_FIRST = 1.0
BACKOFF_MAX = 60.0
STABLE_RUN = 60.0           # a run this long resets the backoff
CHECK_INTERVAL = 0.5
STOP_GRACE = 10.0           # SIGTERM, then SIGKILL after this long
CLIENT_MODULE = "openqq_sync.controller.client_main"
EXIT_REFUSED = 2            # ``openqq run`` refused its options: starting again cannot help

#: What a client gets unless the controller's options or start_client say otherwise: nobody
#: watches its terminal (the QR code is at get_qrcode), and its requests all come through the
#: controller, whose own pool holds two check_event calls per client, so 16 threads (8 waiters
#: and 8 free for other calls) rather than 132: each idle thread's stack costs resident memory.
CLIENT_DEFAULTS = {"show_qrcode": "0", "threads": "16"}

_NAME = re.compile(r"[\w@-][\w.@-]{0,63}")


def valid_name(name: str) -> bool:
    """A client name names files in the tmpdir: letters (any script), digits, ``_.@-``."""
    return bool(_NAME.fullmatch(name))


def free_port(taken: "set[int]") -> int:
    """A loopback port nothing listens on now (the kernel's pick, not one of ``taken``)."""
    for _ in range(20):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in taken:
            return port
    raise OSError("no free loopback port")


def wait_pid_gone(pid: int, timeout: float) -> None:
    """Wait up to ``timeout`` for a process that is not our child to end (a pidfd where the
    system has them, else the whole timeout)."""
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):     # gone already, or no pidfd here
        if pid_running(pid):
            time.sleep(timeout)
        return
    try:
        select.select([fd], [], [], timeout)
    finally:
        os.close(fd)


def with_client(url: Optional[str], name: str) -> Optional[str]:
    """``url`` with ``client=NAME`` merged into its query, as the original does for post_api."""
    if not url:
        return url
    parts = urllib.parse.urlsplit(url)
    query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True) if k != "client"]
    query.append(("client", name))
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


@dataclass
class Account:
    name: str
    options: Dict[str, str]                 # per-client options as given to start_client
    port: int = 0
    pid: int = 0
    token: str = ""
    start_time: int = 0
    proc: Optional[subprocess.Popen[bytes]] = None  # None for a client taken back after a restart
    running_since: float = 0.0               # monotonic, for the backoff reset
    backoff: float = BACKOFF_FIRST
    restart_at: Optional[float] = None       # monotonic time of the next start when dead
    restarts: int = 0
    stopping: bool = False
    log_file: Any = field(default=None, repr=False)

    def summary(self) -> Dict[str, Any]:
        """What start_client and stop_client answer with (the original's fields)."""
        out: Dict[str, Any] = {k: v for k, v in self.options.items() if "secret" not in k}
        out.update(client=self.name, account=self.name, pid=self.pid, port=self.port)
        return out

    def record(self) -> Dict[str, Any]:
        return {"client": self.name, "options": self.options, "port": self.port, "pid": self.pid,
                "token": self.token, "start_time": self.start_time}


class Supervisor:
    """The clients of one controller. Thread-safe.

    :param files: the tmpdir layout.
    :param defaults: options every client gets (text, as ``OPENQQ_*`` values), before its own.
    :param post_api: the controller's post_api; each client reports to it with ``client=NAME``.
    :param max_clients: start_client refuses more.
    """

    def __init__(self, files: Files, *, defaults: Dict[str, str], post_api: Optional[str] = None,
                 max_clients: int = 100, python: str = sys.executable) -> None:
        self.files = files
        self.defaults = dict(defaults)
        self.post_api = post_api
        self.max_clients = max_clients
        self.python = python
        self._lock = threading.Lock()
        self._accounts: Dict[str, Account] = {}
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: Optional[threading.Thread] = None

    # ---- lookups ----------------------------------------------------------------------
    def get(self, name: str) -> Optional[Account]:
        with self._lock:
            return self._accounts.get(name)

    def accounts(self) -> List[Account]:
        with self._lock:
            return list(self._accounts.values())

    # ---- start and stop one client ----------------------------------------------------
    def start_client(self, name: str, options: Dict[str, str]) -> Dict[str, Any]:
        """The original's start_client answer: code 0 success / client already exists,
        5 max clients exceed, 2 no available port, 3 failure."""
        with self._lock:
            existing = self._accounts.get(name)
            if existing is not None and not existing.stopping:
                return {"code": 0, "status": "client already exists", **existing.summary()}
            if existing is None and len(self._accounts) >= self.max_clients:
                return {"code": 5, "status": "max clients exceed"}
            account = Account(name=name, options=dict(options), token=secrets.token_urlsafe(24))
            self._accounts[name] = account
        ok = self._spawn(account)
        if ok is not True:
            with self._lock:
                if self._accounts.get(name) is account:
                    del self._accounts[name]
            if ok == "port":
                return {"code": 2, "status": "no available port", "client": name}
            return {"code": 3, "status": "failure", "client": name}
        self._save()
        log.info("controller: started client %s (pid %d, port %d)", name, account.pid, account.port)
        return {"code": 0, "status": "success", **account.summary()}

    def stop_client(self, name: str, timeout: float = STOP_GRACE) -> Dict[str, Any]:
        """Stop and forget ``name``; waits up to ``timeout`` for it to exit."""
        with self._lock:
            account = self._accounts.get(name)
            if account is None or account.stopping:
                return {"code": 1, "status": "client not exists"}
            account.stopping = True
        self._terminate([account], timeout)
        with self._lock:
            if self._accounts.get(name) is account:
                del self._accounts[name]
        self._save()
        log.info("controller: stopped client %s", name)
        return {"code": 0, "status": "success", **account.summary()}

    # ---- the process ------------------------------------------------------------------
    def child_env(self, account: Account) -> Dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENQQ_")}
        env.update({"OPENQQ_" + k.upper(): v for k, v in CLIENT_DEFAULTS.items()})
        env.update({"OPENQQ_" + k.upper(): v for k, v in self.defaults.items()})
        env.update({"OPENQQ_" + k.upper(): v for k, v in account.options.items()})
        post_api = with_client(account.options.get("post_api") or self.post_api, account.name)
        env.update(OPENQQ_ACCOUNT=account.name, OPENQQ_TMPDIR=self.files.tmpdir, OPENQQ_HOST="127.0.0.1",
                   OPENQQ_PORT=str(account.port), OPENQQ_TOKEN=account.token, OPENQQ_POST_API=post_api or "",
                   OPENQQ_POLL_API=with_client(account.options.get("poll_api"), account.name) or "",
                   PYTHONIOENCODING="utf-8")
        return env

    def _spawn(self, account: Account) -> Any:
        """Start ``account``'s process; True, or "port" / "failure"."""
        with self._lock:
            taken = {a.port for a in self._accounts.values() if a is not account}
        try:
            account.port = free_port(taken)
        except OSError:
            return "port"
        try:
            if account.log_file is None:
                account.log_file = self.files.open_log(account.name)
            proc = subprocess.Popen([self.python, "-m", CLIENT_MODULE, "--account", account.name],
                                    env=self.child_env(account),
                                    stdin=subprocess.DEVNULL, stdout=account.log_file,
                                    stderr=subprocess.STDOUT, close_fds=True, start_new_session=True)
        except OSError as e:
            log.error("controller: cannot start client %s: %s", account.name, e)
            return "failure"
        account.proc = proc
        account.pid = proc.pid
        account.start_time = int(time.time())
        account.running_since = time.monotonic()
        account.restart_at = None
        return True

    def alive(self, account: Account) -> bool:
        """Whether ``account``'s process runs now."""
        return self._alive(account)[0]

    def _alive(self, account: Account) -> Tuple[bool, Optional[int]]:
        if account.proc is not None:
            rc = account.proc.poll()
            return rc is None, rc
        # Taken back after a restart: not our child, so no exit status; its pid file is
        # removed when it stops, which also guards against a reused pid.
        alive = pid_alive(account.pid) and read_pid(self.files.client_file("pid", account.name)) == account.pid
        return alive, (None if alive else 1)

    def _terminate(self, accounts: List[Account], timeout: float) -> None:
        # Judged once, before the signal: a client removes its pid file before its process
        # ends, so afterwards only the process itself says whether it is gone.
        targets = [a for a in accounts if self._alive(a)[0]]
        for a in targets:
            try:
                os.kill(a.pid, signal.SIGTERM)
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        for a in targets:
            if not self._wait_gone(a, deadline - time.monotonic()):
                log.warning("controller: client %s (pid %d) ignored SIGTERM; killing it", a.name, a.pid)
                try:
                    os.kill(a.pid, signal.SIGKILL)
                except OSError:
                    pass
                if not self._wait_gone(a, 5.0):
                    log.error("controller: client %s (pid %d) survived SIGKILL", a.name, a.pid)
        for a in accounts:
            if a.log_file is not None:
                a.log_file.close()
                a.log_file = None

    @staticmethod
    def _wait_gone(account: Account, timeout: float) -> bool:
        """Wait up to ``timeout`` for the process to end; True once it has."""
        if account.proc is not None:
            try:
                account.proc.wait(max(0.0, timeout))
            except subprocess.TimeoutExpired:
                return False
            return True
        wait_pid_gone(account.pid, max(0.0, timeout))
        return not pid_running(account.pid)

    # ---- the supervisor thread --------------------------------------------------------
    def start(self) -> "Supervisor":
        """Take back (or start again) the clients in the backend file, then watch them."""
        for name, rec in self.files.load_backend().items():
            if not valid_name(name):
                continue
            try:
                options = {str(k): str(v) for k, v in (rec.get("options") or {}).items()}
                account = Account(name=name, options=options, port=int(rec.get("port") or 0),
                                  pid=int(rec.get("pid") or 0), token=str(rec.get("token") or ""),
                                  start_time=int(rec.get("start_time") or 0))
            except (AttributeError, TypeError, ValueError) as e:
                log.warning("controller: skipping client %s in %s: %s", name, self.files.backend_path, e)
                continue
            with self._lock:
                self._accounts[name] = account
            if account.pid and account.token and self._alive(account)[0]:
                account.running_since = time.monotonic()
                log.info("controller: took back client %s (pid %d, port %d)", name, account.pid, account.port)
            else:
                account.token = secrets.token_urlsafe(24)
                if self._spawn(account) is not True:
                    with self._lock:
                        del self._accounts[name]
                else:
                    log.info("controller: started client %s again (pid %d)", name, account.pid)
        self._save()
        self._thread = threading.Thread(target=self._run, name="openqq-controller-supervisor", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._check()
            except Exception:   # keep watching the other clients whatever one of them did
                log.exception("controller: supervisor check failed")
            self._wake.wait(CHECK_INTERVAL)
            self._wake.clear()

    def _check(self) -> None:
        changed = False
        now = time.monotonic()
        for account in self.accounts():
            if account.stopping or self._stop.is_set():
                continue
            if account.restart_at is not None:
                if now >= account.restart_at:
                    account.restarts += 1
                    account.token = secrets.token_urlsafe(24)
                    if self._spawn(account) is True:
                        if account.stopping:   # stop_client came while it was starting
                            self._terminate([account], STOP_GRACE)
                            continue
                        log.info("controller: restarted client %s (pid %d, restart %d)", account.name,
                                 account.pid, account.restarts)
                    else:
                        account.restart_at = now + account.backoff
                    changed = True
                continue
            alive, rc = self._alive(account)
            if alive:
                if now - account.running_since >= STABLE_RUN:
                    account.backoff = BACKOFF_FIRST
                continue
            if rc in (0, EXIT_REFUSED):
                log.info("controller: client %s exited (status %s); forgetting it (see %s)", account.name, rc,
                         self.files.log_path(account.name))
                with self._lock:
                    if self._accounts.get(account.name) is account:
                        del self._accounts[account.name]
                if account.log_file is not None:
                    account.log_file.close()
                    account.log_file = None
            else:
                log.warning("controller: client %s died (status %s); starting it again in %.0f s (see %s)",
                            account.name, rc, account.backoff, self.files.log_path(account.name))
                account.restart_at = now + account.backoff
                account.backoff = min(account.backoff * 2, BACKOFF_MAX)
            changed = True
        if changed:
            self._save()

    def _save(self) -> None:
        with self._lock:
            records = {a.name: a.record() for a in self._accounts.values() if not a.stopping}
        self.files.save_backend(records)

    def stop(self, timeout: float = STOP_GRACE) -> None:
        """Stop watching, stop every client (they stay in the backend file: the next
        controller starts them again), join the thread. Idempotent."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("controller: supervisor thread still running")
        self._save()
        accounts = self.accounts()
        for a in accounts:
            a.stopping = True
        self._terminate(accounts, timeout)
