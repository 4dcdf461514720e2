"""The client's files in tmpdir, named as the original's (protocol doc 12).

* pid file ``mojo_webqq_pid_<account>.pid``: our PID, no newline; a live PID of another
  process refuses the start, a stale one is replaced; removed on stop.
* state file ``mojo_webqq_state_<account>.json``: rewritten (atomically) on every state
  change with the original's fields; it ends with ``"state": "stop"``.
* QR file ``mojo_webqq_qrcode_<account>.png``: the ptqrshow bytes; removed after login and
  on stop.
* cookie file: written and read by the transport (``save_cookies``/``load_cookies``).

Every file is created with mode 0600: cookies and QR codes are credentials.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import platform
import tempfile
from typing import Any, Dict, List, Optional

from .. import __version__
from ..config import Config

log = logging.getLogger(__name__)


class PidFileError(RuntimeError):
    """Another live client already runs for this account."""


def write_private(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically with mode 0600 (temp file + rename)."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def remove_quietly(path: str) -> bool:
    """Delete ``path`` if it exists; True if a file was removed."""
    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False
    except OSError as e:
        log.warning("could not remove %s: %s", path, e)
        return False


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except OSError as e:
        return e.errno == errno.EPERM
    return True


def claim_pid_file(path: str, pid: Optional[int] = None) -> int:
    """Write our PID into ``path`` unless a live process holds it.

    A PID that is ours (a second Client in this process) also refuses: two clients for one
    account would fight over the same session and files.

    :raises PidFileError: the file names a live process.
    """
    pid = os.getpid() if pid is None else pid
    try:
        with open(path, "r", encoding="ascii") as fh:
            old = int(fh.read().strip() or 0)
    except FileNotFoundError:
        old = 0
    except (OSError, ValueError):
        old = 0
    if old and _pid_alive(old):
        raise PidFileError(f"a client for this account is already running (pid {old}, {path})")
    if old:
        log.info("replacing stale pid file %s (pid %d is gone)", path, old)
    write_private(path, str(pid).encode("ascii"))
    return pid


def release_pid_file(path: str, pid: Optional[int] = None) -> None:
    """Remove the pid file if it still holds our PID."""
    pid = os.getpid() if pid is None else pid
    try:
        with open(path, "r", encoding="ascii") as fh:
            held = int(fh.read().strip() or 0)
    except (OSError, ValueError):
        return
    if held == pid:
        remove_quietly(path)


class StateFile:
    """The state JSON of protocol doc 12, rewritten on every change.

    Thread-safe enough: each write replaces the whole file atomically; callers serialise
    state changes (only the protocol thread, and stop()).
    """

    def __init__(self, config: Config, *, start_time: int, pid: int) -> None:
        self._config = config
        self._base: Dict[str, Any] = {
            "account": config.account,
            "version": __version__,
            "start_time": start_time,
            "mode": config.mode,
            "http_debug": 0,
            "log_encoding": None,
            "log_path": config.log_path,
            "log_level": config.log_level,
            "log_console": 1,
            "disable_color": 0,
            "tmpdir": config.tmpdir,
            "cookie_path": config.cookie_path,
            "qrcode_path": config.qrcode_path,
            "pid_path": config.pid_path,
            "state_path": config.state_path,
            "keep_cookie": int(bool(config.keep_cookie)),
            "ua_retry_times": config.ua_retry_times,
            "qrcode_count_max": config.qrcode_count_max,
        }
        self._pid = pid
        self.plugins: List[str] = []

    def write(self, state: str, previous: Optional[str]) -> None:
        doc = dict(self._base)
        doc.update(state=state, previous_state=previous, pid=self._pid,
                   os=platform.system().lower(), plugin=list(self.plugins))
        try:
            write_private(self._config.state_path,
                          json.dumps(doc, ensure_ascii=False, indent=None).encode("utf-8"))
        except OSError as e:
            log.warning("could not write the state file %s: %s", self._config.state_path, e)


def save_qrcode(path: str, data: bytes) -> None:
    """Replace the QR file with ``data`` (the old one deleted first, as the original)."""
    remove_quietly(path)
    write_private(path, data)
