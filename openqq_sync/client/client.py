"""The Client: one QQ account, its threads, its state machine and its public verbs.

Threads (each named ``openqq-<account>-<role>``, run through the crash wrapper):

* ``poll`` — the protocol thread, the only writer of the state: login (through the
  backend), contact load, then the receive loop; a relogin goes back through the login
  (``login.SessionLoop``, the relogin policy);
* ``sender`` — the outbound queue (8.4);
* ``updater`` — the periodic contact refresh (6.11);
* ``members_N`` — short-lived workers of the parallel member load.

The protocol itself is the backend's (``Config.backend``, SmartQQ by default); the workers
share a :class:`~openqq_sync.client.runtime.Runtime`. Everything public here is thread-safe
unless its docstring says otherwise. Signals are sent with this Client as sender;
receivers run on the emitting thread and must only enqueue.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any, Dict, List, Optional, Sequence, Union

from .. import backends, signals
from ..backends import Backend
from ..config import Config
from ..errors import OpenQQError
from ..model import Discuss, DiscussMember, Friend, Group, GroupMember, Message, User
from ..faces import face_parse, replace_comp_sign
from ..threads import join_all, spawn
from . import files
from .contacts import ContactStore
from .loader import Loader
from .login import SessionLoop
from .receiver import Receiver
from .runtime import Runtime
from .sender import MessageIds, Sender, SendHandle
from .state import ClientState
from .updater import Updater

log = logging.getLogger(__name__)

__all__ = ["Client", "SendHandle", "ClientState"]

MIN_SHUTUP_SECONDS = 60


class Client:
    """A single-account QQ client.

    :param config: options; ``config.backend`` chooses the protocol, ``config.server``
        routes SmartQQ's ``*.qq.com`` calls (a sandbox).
    :param backend: an already built backend (tests, embedding); keyword only.
    """

    def __init__(self, config: Optional[Config] = None, *, backend: Optional[Backend] = None) -> None:
        self.config = config if config is not None else Config()
        self._backend = backend if backend is not None else backends.create(self.config)
        self._rt = Runtime(self, self.config, self._backend)
        self.contacts: ContactStore = self._rt.contacts
        self.log = self._rt.log
        self.pid = os.getpid()
        self.starttime: Optional[int] = None
        self._lock = threading.Lock()
        self._finished = threading.Event()
        self._started = False
        self._stopping = False
        self._threads: List[threading.Thread] = []
        self._pid_claimed = False
        self._msg_ids = MessageIds()
        # Member-load workers are joined by the loader itself, not kept in _threads.
        self._loader = Loader(self._rt, lambda role, target: spawn(
            self.config.account, role, target, on_crash=self._crashed))
        self._sender = Sender(self._rt)
        self._updater = Updater(self._rt, self._loader)
        self._receiver = Receiver(self._rt, self._loader)
        self._session = SessionLoop(self._rt, self._loader, self._receiver, self._spawn,
                                    self._stop_from_inside)

    # ------------------------------------------------------------------ state (read-only)
    @property
    def state(self) -> str:
        """The current state's name (``init`` … ``stop``)."""
        return self._rt.state.value

    @property
    def error(self) -> Optional[str]:
        """Why the client stopped on its own (login failed, kicked, a crash), else None."""
        return self._rt.error

    @property
    def qrcode(self) -> Optional[bytes]:
        """The PNG of the QR code waiting to be scanned, else None."""
        return self._rt.qrcode

    @property
    def backend(self) -> Backend:
        return self._backend

    def describe(self) -> Dict[str, Any]:
        """What the backend says of itself (``{"backend": "smartqq", ...}``)."""
        return self._backend.describe()

    def wait_for_state(self, state: Union[str, ClientState], timeout: Optional[float] = None) -> bool:
        """Block until the state is ``state`` (True) or ``timeout`` passes (False).

        Waiting for anything but ``stop`` also returns False as soon as the client stops.
        """
        want = ClientState(state)
        seen: List[ClientState] = []

        def reached(s: ClientState) -> bool:
            seen.append(s)
            return s == want or s == ClientState.STOP

        self._rt.cell.wait_for(reached, timeout)
        return bool(seen) and seen[-1] == want

    @property
    def user(self) -> Optional[User]:
        return self.contacts.user

    @property
    def running(self) -> bool:
        return self._rt.state == ClientState.RUNNING

    # ------------------------------------------------------------------ lifecycle
    def _spawn(self, role: str, target: Any) -> threading.Thread:
        thread = spawn(self.config.account, role, target, on_crash=self._crashed)
        with self._lock:
            self._threads.append(thread)
        return thread

    def start(self) -> "Client":
        """Start the threads; returns at once (watch ``state`` or ``wait_for_state``).

        :raises RuntimeError: started twice, or another live client holds this account's
            pid file.
        """
        with self._lock:
            if self._started:
                raise RuntimeError("this Client was already started")
            self._started = True
        config = self.config
        os.makedirs(config.tmpdir, exist_ok=True)
        files.claim_pid_file(config.pid_path, self.pid)
        self._pid_claimed = True
        self.starttime = int(time.time())
        self._rt.state_file = files.StateFile(config, start_time=self.starttime, pid=self.pid)
        self._rt.state_file.write(self.state, None)
        if self._backend.restore():
            self.log.info("restored the saved session from %s", config.tmpdir)
        self._spawn("sender", self._sender.run)
        self._spawn("updater", self._updater.run)
        self._spawn("poll", self._session.run)
        return self

    def _crashed(self, error: BaseException) -> None:
        self._rt.error = f"internal error: {error!r}"
        self._stop_from_inside()

    def _stop_from_inside(self) -> None:
        # A thread of ours cannot join itself: stop() runs on a helper thread, which
        # join()/stop() callers then join too.
        with self._lock:
            if self._stopping:
                return
            stopper = threading.Thread(target=self.stop, name=f"openqq-{self.config.account}-stopper",
                                       daemon=True)
            self._threads.append(stopper)
        stopper.start()

    def wait_for_members(self, timeout: Optional[float] = None) -> bool:
        """Block until every member list of this login is loaded (at once with
        ``member_load="login"`` once running); False on timeout."""
        return self._rt.members_ready.wait(timeout)

    def request_relogin(self) -> None:
        """Ask the protocol thread to log in again; returns at once. Ignored when stopped
        or not yet logged in."""
        self._rt.request_relogin(logout=True)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop every thread (bounded by ``timeout``), state ``stop``, ``stop`` emitted,
        pid and QR files removed. Idempotent; callable from any thread, ours included."""
        with self._lock:
            first = not self._stopping
            self._stopping = True
        deadline = time.monotonic() + timeout
        if not first:
            self._finished.wait(timeout)
            join_all(list(self._threads), deadline, time.monotonic)
            return
        self._rt.request_stop()
        self._sender.wake()
        self._updater.wake()
        self._backend.abort()
        alive = join_all(list(self._threads), deadline, time.monotonic)
        if alive:
            self.log.warning("%d thread(s) still running after stop: %s", len(alive), ", ".join(alive))
        self._finish()

    def _finish(self) -> None:
        if self._pid_claimed:   # a refused second client must not overwrite the first's files
            self._backend.save()
        self._rt.set_state(ClientState.STOP)
        self._rt.qrcode = None
        if self._pid_claimed:
            files.release_pid_file(self.config.pid_path, self.pid)
            files.remove_quietly(self.config.qrcode_path)
        self._backend.close()
        self.log.info("stopped%s", f" ({self.error})" if self.error else "")
        self._rt.emit(signals.stop)
        self._finished.set()

    def join(self, timeout: Optional[float] = None) -> bool:
        """Wait until the client has stopped and its threads have ended; True if it has."""
        deadline = time.monotonic() + (timeout if timeout is not None else 1e9)
        if not self._finished.wait(timeout):
            return False
        return not join_all(list(self._threads), deadline, time.monotonic)

    # ------------------------------------------------------------------ contacts
    def refresh_contacts(self, timeout: float = 30.0) -> bool:
        """Run a contact refresh now on the updater thread and wait for it (diff signals)."""
        return self._updater.request(timeout)

    def load_group_members(self, group: Group) -> None:
        """Fetch a group's members (+ ext) when its list is empty. Blocking."""
        if group.members:
            return
        self._rt.emit_changes(self._loader.load_group(group))

    def load_discuss_members(self, discuss: Discuss) -> None:
        if discuss.members:
            return
        self._rt.emit_changes(self._loader.load_discuss(discuss))

    # ------------------------------------------------------------------ sending
    def _new_send(self, kind: str, content: Any, from_: str, **fields: Any) -> SendHandle:
        if content is None or str(content) == "":
            raise ValueError("message content is empty")
        if self._rt.state != ClientState.RUNNING:
            raise RuntimeError(f"cannot send: the client is {self.state}, not running")
        text = str(content)
        if not self.config.default_send_real_comp_sign:
            text = replace_comp_sign(text)
        user = self.contacts.user
        msg = Message(kind, "send", id=self._msg_ids(), raw_content=face_parse(text),
                      sender_id=user.get("id") if user is not None else None, **fields)
        msg.set(content=text, **{"from": from_}, ttl=self.config.msg_ttl, source="local")
        if msg.sender is None:
            msg.sender = user
        msg._client = self
        return self._sender.submit(msg)

    def send_friend_message(self, friend: Friend, content: Any, from_: str = "code") -> SendHandle:
        """Queue a message to a friend. :raises ValueError: empty content.
        :raises RuntimeError: not running (nothing queued)."""
        return self._new_send("friend_message", content, from_, receiver_id=friend.get("id"),
                              receiver=friend)

    def send_group_message(self, group: Group, content: Any, from_: str = "code") -> SendHandle:
        user = self.contacts.user
        own = group.member(user.get("id")) if user is not None else None
        return self._new_send("group_message", content, from_, group_id=group.get("id"), group=group,
                              sender=own or user)

    def send_discuss_message(self, discuss: Discuss, content: Any, from_: str = "code") -> SendHandle:
        user = self.contacts.user
        own = discuss.member(user.get("id")) if user is not None else None
        return self._new_send("discuss_message", content, from_, discuss_id=discuss.get("id"),
                              discuss=discuss, sender=own or user)

    def send_sess_message(self, member: Union[GroupMember, DiscussMember], content: Any,
                          from_: str = "code") -> SendHandle:
        """Queue a temporary message to a group or discussion member (a signature is fetched)."""
        if isinstance(member, GroupMember):
            group = member.group
            if group is None:
                raise ValueError("this group member has no group")
            return self._new_send("sess_message", content, from_, receiver_id=member.get("id"),
                                  receiver=member, via="group", group_id=group.get("id"), group=group)
        if isinstance(member, DiscussMember):
            discuss = member.discuss
            if discuss is None:
                raise ValueError("this discussion member has no discussion")
            return self._new_send("sess_message", content, from_, receiver_id=member.get("id"),
                                  receiver=member, via="discuss", discuss_id=discuss.get("id"),
                                  discuss=discuss)
        raise TypeError("send_sess_message needs a GroupMember or a DiscussMember")

    # ------------------------------------------------------------------ group admin (9)
    def _admin_allowed(self, what: str, group: Group, members: Sequence[GroupMember]) -> bool:
        if group.get("uid") is None:
            self.log.error("%s: group %r has no QQ number (ext data missing)", what, group.displayname)
            return False
        role = group.get("role")
        if role not in ("manage", "create"):
            self.log.error("%s: not an owner or admin of group %r (role %s)", what, group.displayname, role)
            return False
        if not members:
            self.log.error("%s: no member given", what)
            return False
        for member in members:
            if not isinstance(member, GroupMember) or member.group is not group:
                self.log.error("%s: %r is not a member of group %r", what, member, group.displayname)
                return False
            target = member.get("role")
            # An owner cannot be touched; admins are untouchable for shutup (as the
            # original) and for an admin's kick (the service refuses it too).
            if target == "owner" or (target == "admin" and (what == "shutup" or role != "create")):
                self.log.error("%s: refused for %s %r", what, target, member.displayname)
                return False
        return True

    def shutup_group_member(self, group: Group, members: Sequence[GroupMember], seconds: int) -> bool:
        """Mute members for ``seconds`` (at least 60). Blocking; True on success."""
        if int(seconds) < MIN_SHUTUP_SECONDS:
            self.log.error("shutup: %s s is too short (at least %d)", seconds, MIN_SHUTUP_SECONDS)
            return False
        members = list(members)
        if not self._admin_allowed("shutup", group, members):
            return False
        try:
            return self._backend.shutup(group, [(m, int(seconds)) for m in members])
        except OpenQQError as e:
            self.log.error("shutup failed: %s", e)
            return False

    def kick_group_member(self, group: Group, members: Sequence[GroupMember]) -> bool:
        """Remove members from a group. Blocking; on success ``lose_group_member`` is emitted
        for each, with the group (the original left it out, bug 4)."""
        members = list(members)
        if not self._admin_allowed("kick", group, members):
            return False
        try:
            ok = self._backend.kick(group, members)
        except OpenQQError as e:
            self.log.error("kick failed: %s", e)
            return False
        if ok:
            self._rt.emit_changes(self.contacts.remove_group_members(group, members))
        return ok

    def __repr__(self) -> str:
        return f"<Client {self.config.account!r} {self.state}>"
