"""What the client's workers share, passed to each explicitly (no back-references to Client).

One :class:`Runtime` per Client: the config, the backend, the ContactStore, the stop Event,
the relogin request, the "online" cell the sender waits on, the state cell with its state
file, and ``emit``. It is also the :class:`~openqq_sync.backends.BackendHost` a backend's
login reports to (QR code, scan states). Thread-safe unless a method says otherwise.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any, Iterable, Optional

from .. import signals, terminal
from ..backends import Backend
from ..config import Config
from ..threads import emit
from . import files
from .contacts import Change, ContactStore
from .state import ClientState, StateCell

log = logging.getLogger(__name__)

__all__ = ["Runtime"]


class Runtime:
    """Shared state of one client's threads.

    :param owner: the object signals are sent for (the Client); receivers get it as sender.
    """

    def __init__(self, owner: object, config: Config, backend: Backend) -> None:
        self.owner = owner
        self.config = config
        self.backend = backend
        self.contacts = ContactStore(use_friend_markname=config.group_member_use_friend_markname,
                                     card_cut_length=config.group_member_card_cut_length)
        # The account's log keeps the name it always had (openqq_sync.client.<account>).
        self.log = logging.getLogger("openqq_sync.client").getChild(config.account)
        self.stop = threading.Event()
        self.relogin = threading.Event()          # a relogin was requested
        self.relogin_logout = True                # whether the requested relogin logs out
        self.members_ready = threading.Event()
        self.cell = StateCell()
        self.state_file: Optional[files.StateFile] = None
        self.login_count = 0                      # successful logins (a relogin ends old work)
        self.qrcode: Optional[bytes] = None
        self.error: Optional[str] = None          # why the client stopped on its own
        self._online_cond = threading.Condition()
        self._online = False

    # -- signals and state ---------------------------------------------------------------
    def emit(self, signal: Any, **kwargs: Any) -> None:
        emit(signal, self.owner, **kwargs)

    def emit_changes(self, changes: Iterable[Change]) -> None:
        for name, kwargs in changes:
            self.emit(getattr(signals, name), **kwargs)

    @property
    def state(self) -> ClientState:
        return self.cell.value

    def set_state(self, new: ClientState) -> None:
        """Move to ``new``; waiters see it only after its state file and signal."""
        changed = self.cell.set(new, notify=False)
        if changed is None:
            return
        old, new = changed
        try:
            self.log.info("state %s -> %s", old.value, new.value)
            if self.state_file is not None:
                self.state_file.write(new.value, old.value)
            self.emit(signals.state_change, old=old.value, new=new.value)
        finally:
            self.cell.notify()

    # -- online: whether sends may go out (a login holds, no relogin under way) ------------
    def set_online(self, online: bool) -> None:
        with self._online_cond:
            self._online = online
            self._online_cond.notify_all()

    @property
    def online(self) -> bool:
        return self._online

    def wait_online(self) -> bool:
        """Block through a relogin until online (True) or stopping (False)."""
        with self._online_cond:
            self._online_cond.wait_for(lambda: self._online or self.stop.is_set())
            return not self.stop.is_set()

    def request_stop(self) -> None:
        """Set the stop Event and wake every wait on it (the online cell included)."""
        self.stop.set()
        with self._online_cond:
            self._online_cond.notify_all()

    def request_relogin(self, logout: bool) -> None:
        """Ask the protocol thread for a relogin; ignored when stopped or not logged in."""
        if self.stop.is_set() or not self._online:
            return
        self.relogin_logout = logout
        self.relogin.set()
        # Cut the held receive so the protocol thread sees the request now.
        self.backend.interrupt_receive()

    # -- BackendHost ---------------------------------------------------------------------
    def stopping(self) -> bool:
        return self.stop.is_set()

    def wait(self, seconds: float) -> bool:
        return self.stop.wait(seconds)

    def show_qrcode(self, png: Optional[bytes]) -> None:
        path = self.config.qrcode_path
        self.qrcode = png
        if png is None:
            files.remove_quietly(path)
            return
        try:
            files.save_qrcode(path, png)
        except OSError as e:
            log.warning("could not save the QR code to %s: %s", path, e)
        log.info("QR code saved to %s: scan it with the QQ mobile app", path)
        if self.config.show_qrcode:
            text = terminal.render_qrcode(png)
            if text:
                print(text, file=sys.stderr, flush=True)
        self.emit(signals.input_qrcode, path=path, data=png)

    def qrcode_expired(self, count: int) -> None:
        self.emit(signals.qrcode_expire, count=count)
