"""The controller's files in its tmpdir, named as the original's.

* ``mojo_webqq_controller_process.pid``: the controller's PID; a live one refuses a second
  controller on the same tmpdir.
* ``mojo_webqq_controller_backend.dat``: the clients (name, options, pid, port, token), as
  JSON, mode 0600 (it holds each client's private token). A restarted controller reads it
  back: a client still running is taken back, one that is not is started again.
* per client, written by the client itself (``openqq run`` with ``--account NAME``):
  ``mojo_webqq_state_NAME.json``, ``mojo_webqq_pid_NAME.pid``, ``mojo_webqq_qrcode_NAME.png``,
  ``mojo_webqq_cookie_NAME.dat``; and ``openqq_client_NAME.log``, the client's output.
"""

from __future__ import annotations

import errno
import json
import logging
import os
from typing import Any, Dict, Optional

from ..client.files import write_private

log = logging.getLogger(__name__)

LOG_ROTATE_BYTES = 10 * 1024 * 1024


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except OSError as e:
        return e.errno == errno.EPERM
    return True


def pid_running(pid: int) -> bool:
    """``pid_alive``, but a zombie (ended, not yet reaped: a client whose first controller
    died is reaped by whoever adopted it) counts as gone."""
    if not pid_alive(pid):
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):   # no /proc here: trust kill()
        return True


def read_pid(path: str) -> int:
    try:
        with open(path, encoding="ascii") as fh:
            return int(fh.read().strip() or 0)
    except (OSError, ValueError):
        return 0


class Files:
    """Where the controller and its clients keep their files."""

    def __init__(self, tmpdir: str) -> None:
        self.tmpdir = os.path.abspath(tmpdir)
        self.pid_path = os.path.join(self.tmpdir, "mojo_webqq_controller_process.pid")
        self.backend_path = os.path.join(self.tmpdir, "mojo_webqq_controller_backend.dat")

    def client_file(self, kind: str, name: str) -> str:
        ext = {"state": "json", "pid": "pid", "qrcode": "png", "cookie": "dat"}[kind]
        return os.path.join(self.tmpdir, f"mojo_webqq_{kind}_{name}.{ext}")

    def log_path(self, name: str) -> str:
        return os.path.join(self.tmpdir, f"openqq_client_{name}.log")

    def open_log(self, name: str) -> Any:
        """The client's output file, appended to; one over 10 MB is moved to ``.1`` first."""
        path = self.log_path(name)
        try:
            if os.path.getsize(path) > LOG_ROTATE_BYTES:
                os.replace(path, path + ".1")
        except OSError:
            pass
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return os.fdopen(fd, "ab")

    # ---- the controller's pid file ----------------------------------------------------
    def claim_pid(self) -> Optional[int]:
        """Write our PID; returns the PID of another live controller instead (nothing written)."""
        other = read_pid(self.pid_path)
        if other and other != os.getpid() and pid_alive(other):
            return other
        write_private(self.pid_path, str(os.getpid()).encode("ascii"))
        return None

    def release_pid(self) -> None:
        if read_pid(self.pid_path) == os.getpid():
            try:
                os.unlink(self.pid_path)
            except OSError:
                pass

    # ---- the clients ------------------------------------------------------------------
    def load_backend(self) -> Dict[str, Dict[str, Any]]:
        try:
            with open(self.backend_path, "rb") as fh:
                data = json.loads(fh.read().decode("utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as e:
            log.warning("controller: cannot read %s (%s); starting with no clients", self.backend_path, e)
            return {}
        clients = data.get("clients") if isinstance(data, dict) else None
        return {str(k): v for k, v in clients.items() if isinstance(v, dict)} if isinstance(clients, dict) else {}

    def save_backend(self, clients: Dict[str, Dict[str, Any]]) -> None:
        body = json.dumps({"version": 1, "clients": clients}, ensure_ascii=False, indent=1)
        try:
            write_private(self.backend_path, body.encode("utf-8"))
        except OSError as e:
            log.warning("controller: cannot save %s: %s", self.backend_path, e)

    def read_state(self, name: str) -> Optional[Dict[str, Any]]:
        """The client's state file, or None if it is missing.

        :raises ValueError: the file exists but is not a JSON object.
        """
        try:
            with open(self.client_file("state", name), "rb") as fh:
                raw = fh.read()
        except FileNotFoundError:
            return None
        except OSError as e:
            raise ValueError(str(e)) from None
        doc = json.loads(raw.decode("utf-8"))
        if not isinstance(doc, dict):
            raise ValueError("not a JSON object")
        return doc
