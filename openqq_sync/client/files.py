"""The client's files in tmpdir, named as the original's (protocol doc 12).

* pid file ``mojo_webqq_pid_<account>.pid``: our PID, no newline; a live PID of another
  process refuses the start, a stale one is replaced; removed on stop.
* state file ``mojo_webqq_state_<account>.json``: rewritten (atomically) on every state
  change with the original's fields; it ends with ``"state": "stop"``.
* QR file ``mojo_webqq_qrcode_<account>.png``: the ptqrshow bytes; removed after login and
  on stop.
* cookie file: written and read by the transport (``save_cookies``/``load_cookies``).

Every file is created with mode 0600 through :func:`write_private`: cookies and QR codes are
credentials. The default tmpdir is a directory of this user alone (:func:`default_tmpdir`,
created 0700 and checked by :func:`ensure_tmpdir`), and a file in it that is a symlink, not a
regular file, or owned by another user is refused (:class:`UnsafeFileError`), never read.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import platform
import stat
import tempfile
from typing import Any, Dict, List, Optional

from .. import __version__
from ..config import Config
from ..config import default_tmpdir as default_tmpdir  # re-exported: the tmpdir a Client makes private

log = logging.getLogger(__name__)


class PidFileError(RuntimeError):
    """Another live client already runs for this account."""


class UnsafeFileError(OSError):
    """A file or directory another user could have planted: refused, never read or trusted."""


def _uid() -> int:
    return os.geteuid() if hasattr(os, "geteuid") else -1


def ensure_tmpdir(path: str, *, private: bool) -> None:
    """Create ``path`` (mode 0700) if missing, and check it.

    :param private: the default tmpdir: it must be a real directory (no symlink) owned by us
        with no access for group or others. An explicit ``--tmpdir`` only has to be a
        directory; one that others may write to gets a warning (each file is checked anyway).
    :raises UnsafeFileError: the directory fails the check (the message says what to do).
    """
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except FileNotFoundError:
        os.makedirs(path, mode=0o700, exist_ok=True)
    st = os.lstat(path) if private else os.stat(path)
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        raise UnsafeFileError(f"tmpdir {path} is not a directory of its own (a symlink or a file); "
                              "remove it or choose another --tmpdir")
    if not private:
        if st.st_mode & 0o022:
            log.warning("tmpdir %s is writable by other users; files there that are not ours "
                        "are refused (a private directory is safer)", path)
        return
    if st.st_uid != _uid():
        raise UnsafeFileError(f"tmpdir {path} belongs to uid {st.st_uid}, not to us (uid {_uid()}); "
                              "remove it or choose another --tmpdir")
    if st.st_mode & 0o077:
        raise UnsafeFileError(f"tmpdir {path} has mode {stat.S_IMODE(st.st_mode):o}, not 700; "
                              f"run chmod 700 {path} or choose another --tmpdir")


def _refuse(path: str, st: os.stat_result) -> None:
    if stat.S_ISLNK(st.st_mode):
        why = "a symlink"
    elif not stat.S_ISREG(st.st_mode):
        why = "not a regular file"
    elif st.st_uid != _uid():
        why = f"owned by uid {st.st_uid}, not by us (uid {_uid()})"
    else:
        return
    raise UnsafeFileError(f"refusing {path}: {why}; it was not written by this client (remove it)")


def check_file(path: str) -> bool:
    """True if ``path`` exists as our own regular file, False if it does not exist.

    :raises UnsafeFileError: it is a symlink, not a regular file, or another user's.
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    _refuse(path, st)
    return True


def read_private(path: str) -> Optional[bytes]:
    """The bytes of our own regular file ``path``; None if it does not exist.

    Opened without following a symlink and checked on the open descriptor, so what is read
    is what was checked.

    :raises UnsafeFileError: a symlink, not a regular file, or another user's file.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise UnsafeFileError(f"refusing {path}: a symlink; it was not written by this client "
                                  "(remove it)") from None
        raise
    with os.fdopen(fd, "rb") as fh:
        _refuse(path, os.fstat(fh.fileno()))
        return fh.read()


def write_private(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically with mode 0600 (a new temp file, then rename).

    :raises UnsafeFileError: ``path`` exists as a symlink, a non-regular or another user's file.
    """
    check_file(path)
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
    """Delete our own file ``path`` if it exists; True if a file was removed. Another
    user's file, a symlink or a non-regular file is left alone (logged)."""
    try:
        if not check_file(path):
            return False
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False
    except OSError as e:
        log.warning("could not remove %s: %s", path, e)
        return False


def _pid_alive(pid: int) -> bool:
    """True if ``pid`` is a live process of ours; EPERM means another user's, so False."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _read_pid(path: str) -> int:
    try:
        data = read_private(path)
    except UnsafeFileError as e:
        log.warning("ignoring the pid file: %s", e)
        return 0
    except OSError:
        return 0
    try:
        return int((data or b"").strip() or 0)
    except ValueError:
        return 0


def claim_pid_file(path: str, pid: Optional[int] = None) -> int:
    """Write our PID into ``path`` unless a live process of ours holds it.

    A PID that is ours (a second Client in this process) also refuses: two clients for one
    account would fight over the same session and files. A pid file that is not ours is
    ignored (logged); when ours cannot be written the client runs without one (logged).

    :raises PidFileError: the file names a live process.
    """
    pid = os.getpid() if pid is None else pid
    old = _read_pid(path)
    if old and _pid_alive(old):
        raise PidFileError(f"a client for this account is already running (pid {old}, {path})")
    if old:
        log.info("replacing stale pid file %s (pid %d is gone or not ours)", path, old)
    try:
        write_private(path, str(pid).encode("ascii"))
    except OSError as e:
        log.warning("running without a pid file: could not write %s: %s", path, e)
    return pid


def release_pid_file(path: str, pid: Optional[int] = None) -> None:
    """Remove the pid file if it is ours and still holds our PID."""
    pid = os.getpid() if pid is None else pid
    if _read_pid(path) == pid:
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
    """Replace the QR file with ``data`` (the old one deleted first, as the original).

    :raises UnsafeFileError: a file there is not ours (left alone: it must not be scanned).
    """
    check_file(path)
    remove_quietly(path)
    write_private(path, data)
