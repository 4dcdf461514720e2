"""The Client: one SmartQQ account, its threads, its state machine and its public verbs.

Threads (each named ``openqq-<account>-<role>``, run through the crash wrapper):

* ``poll`` — the protocol thread, the only writer of the state: login (5.2), contact load,
  then the poll2 loop; a relogin goes back through the login with saved cookies first;
* ``sender`` — the outbound queue (8.4);
* ``updater`` — the periodic contact refresh (6.11);
* ``members_N`` — short-lived workers of the parallel member load.

Everything public here is thread-safe unless its docstring says otherwise. Signals are sent
with this Client as sender; receivers run on the emitting thread and must only enqueue.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from typing import Any, Iterable, List, Optional, Sequence, Union

from . import files, signals
from ._loader import Loader
from ._login_machine import LoginFailed, LoginMachine, LoginStopped
from ._poller import RELOGIN, Backoff, PollLoop
from ._receiver import Receiver
from ._sender import MessageIds, Sender, SendHandle
from ._state import ClientState, StateCell
from ._threads import emit, join_all, spawn
from ._updater import Updater
from .config import Config
from .contacts import Change, ContactStore
from .model import Discuss, DiscussMember, Friend, Group, GroupMember, Message, User
from .protocol import ext as ext_api
from .protocol.codec import face_parse, replace_comp_sign
from .protocol.errors import OpenQQError, ProtocolError, TransportError
from .protocol.transport import Transport

log = logging.getLogger(__name__)

__all__ = ["Client", "SendHandle", "ClientState"]

MIN_SHUTUP_SECONDS = 60


def _network_failure(error: BaseException) -> bool:
    """True when ``error`` (or what caused it) is the network or a failed answer of the
    service (both may pass), not a verdict such as a QR code expired too often."""
    while error is not None:
        if isinstance(error, (TransportError, ProtocolError)):
            return True
        error = error.__cause__  # type: ignore[assignment]
    return False


class Client:
    """A single-account SmartQQ client.

    :param config: options; ``config.server`` routes every ``*.qq.com`` call (a sandbox).
    :param transport: an already built :class:`Transport` (tests, embedding); keyword only.
    """

    def __init__(self, config: Optional[Config] = None, *, transport: Optional[Transport] = None) -> None:
        self.config = config if config is not None else Config()
        if self.config.member_load not in ("login", "background"):
            raise ValueError(f"member_load must be 'login' or 'background', not {self.config.member_load!r}")
        self._transport = transport if transport is not None else Transport(self.config)
        self.contacts = ContactStore(use_friend_markname=self.config.group_member_use_friend_markname,
                                     card_cut_length=self.config.group_member_card_cut_length)
        self.log = log.getChild(self.config.account)
        self.pid = os.getpid()
        self.starttime: Optional[int] = None
        self.qrcode: Optional[bytes] = None
        self.error: Optional[str] = None          # why the client stopped on its own
        self._cell = StateCell()
        self._lock = threading.Lock()
        self._creds_cond = threading.Condition(self._lock)
        self._creds: Any = None
        self._stop_event = threading.Event()
        self._relogin_event = threading.Event()
        self._relogin_logout = True               # whether the requested relogin logs out
        self._finished = threading.Event()
        self._members_ready = threading.Event()
        self._login_count = 0                      # successful logins (a relogin ends old work)
        self._started = False
        self._stopping = False
        self._threads: List[threading.Thread] = []
        self._sessions: "weakref.WeakSet[Any]" = weakref.WeakSet()
        self._poll_session: Any = None
        self._state_file: Optional[files.StateFile] = None
        self._pid_claimed = False
        self._msg_ids = MessageIds()
        self._login = LoginMachine(self)
        self._loader = Loader(self)
        self._receiver = Receiver(self)
        self._sender = Sender(self)
        self._updater = Updater(self)

    # ------------------------------------------------------------------ state (read-only)
    @property
    def state(self) -> str:
        """The current state's name (``init`` … ``stop``)."""
        return self._cell.value.value

    def wait_for_state(self, state: Union[str, ClientState], timeout: Optional[float] = None) -> bool:
        """Block until the state is ``state`` (True) or ``timeout`` passes (False).

        Waiting for anything but ``stop`` also returns False as soon as the client stops.
        """
        want = ClientState(state)
        seen = []
        self._cell.wait_for(lambda s: (seen.append(s) or s == want or s == ClientState.STOP), timeout)
        return bool(seen) and seen[-1] == want

    @property
    def user(self) -> Optional[User]:
        return self.contacts.user

    @property
    def running(self) -> bool:
        return self._cell.value == ClientState.RUNNING

    # ------------------------------------------------------------------ signals helpers
    def _emit(self, signal: Any, **kwargs: Any) -> None:
        emit(signal, self, **kwargs)

    def _emit_changes(self, changes: Iterable[Change]) -> None:
        for name, kwargs in changes:
            self._emit(getattr(signals, name), **kwargs)

    def _emit_receive(self, msg: Message) -> None:
        self._emit(signals.receive_message, msg=msg)

    def _emit_send(self, msg: Message) -> None:
        self._emit(signals.send_message, msg=msg)

    def _set_state(self, new: ClientState) -> None:
        changed = self._cell.set(new, notify=False)
        if changed is None:
            return
        old, new = changed
        try:
            self.log.info("state %s -> %s", old.value, new.value)
            if self._state_file is not None:
                self._state_file.write(new.value, old.value)
            self._emit(signals.state_change, old=old.value, new=new.value)
        finally:
            self._cell.notify()

    # ------------------------------------------------------------------ credentials
    def _publish_credentials(self, creds: Any) -> None:
        with self._creds_cond:
            self._creds = creds
            self._creds_cond.notify_all()

    def _wait_credentials(self) -> Any:
        """The current credentials, waiting through a relogin; None when stopping."""
        with self._creds_cond:
            self._creds_cond.wait_for(lambda: self._creds is not None or self._stop_event.is_set())
            return None if self._stop_event.is_set() else self._creds

    def _register_session(self, session: Any) -> None:
        self._sessions.add(session)

    def _abort_sessions(self) -> None:
        for session in list(self._sessions):
            try:
                self._transport.abort(session)
            except Exception:  # best effort: stop must go on
                self.log.debug("aborting a session failed", exc_info=True)

    def _save_cookies(self) -> None:
        if not self.config.keep_cookie:
            return
        try:
            self._transport.save_cookies(self.config.cookie_path)
        except OSError as e:
            self.log.warning("could not save cookies to %s: %s", self.config.cookie_path, e)

    # ------------------------------------------------------------------ lifecycle
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
        self._state_file = files.StateFile(config, start_time=self.starttime, pid=self.pid)
        self._state_file.write(self.state, None)
        if config.keep_cookie and self._transport.load_cookies(config.cookie_path):
            self.log.info("loaded saved cookies from %s", config.cookie_path)
        account = config.account
        self._threads.append(spawn(account, "sender", self._sender.run, on_crash=self._crashed))
        self._threads.append(spawn(account, "updater", self._updater.run, on_crash=self._crashed))
        self._threads.append(spawn(account, "poll", self._protocol_main, on_crash=self._crashed))
        return self

    def _crashed(self, error: BaseException) -> None:
        self.error = f"internal error: {error!r}"
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

    def _protocol_main(self, ready: threading.Event) -> None:
        ready.set()
        self._set_state(ClientState.LOADING)
        relogin = False
        # Between failed attempts of a relogin or a contact load: never a tight loop.
        cap = 2.0 * float(self.config.poll_retry_max_delay)
        backoff = Backoff(base=min(1.0, cap), cap=cap)
        while not self._stop_event.is_set():
            session = self._transport.thread_session()
            self._register_session(session)
            self._relogin_event.clear()
            try:
                creds, is_scan = self._login.login()
            except LoginStopped:
                break
            except (LoginFailed, OpenQQError) as e:
                if self._stop_event.is_set():
                    break
                if relogin and _network_failure(e):
                    # The service is unreachable or refusing for a moment: keep trying,
                    # the session was good before (an unattended bot must not stop on a
                    # hiccup). A first login that fails stops (original).
                    delay = backoff.next()
                    self.log.warning("relogin failed (%s); retrying in %.0f s", e, delay)
                    if self._stop_event.wait(delay):
                        break
                    continue
                self.error = f"login failed: {e}"
                self.log.error("login failed: %s; stopping", e)
                break
            self._login_count += 1
            self._publish_credentials(creds)
            self._save_cookies()
            self._set_state(ClientState.UPDATING)
            self._members_ready.clear()
            background = self.config.member_load == "background"
            try:
                self._loader.load_initial(members=not background)
            except OpenQQError as e:
                if self._stop_event.is_set():
                    break
                delay = backoff.next()
                self.log.warning("loading contacts failed (%s): relogin in %.0f s", e, delay)
                relogin = True
                self._begin_relogin(logout=False)
                if self._stop_event.wait(delay):
                    break
                continue
            if self._stop_event.is_set():
                break
            backoff.reset()
            self._emit(signals.login, is_scan=is_scan)
            if relogin:
                self._emit(signals.relogin)
            self._set_state(ClientState.RUNNING)
            if background:
                self._threads.append(spawn(self.config.account, "member-loader", self._load_members,
                                           on_crash=self._crashed))
            else:
                self._members_ready.set()
            outcome = PollLoop(self).run()
            if outcome != RELOGIN or self._stop_event.is_set():
                break
            relogin = True
            # Only a requested relogin logs out: after a lost session the saved login
            # (supertoken) is still good, and logging out would kill it and force a new
            # QR scan on an unattended bot (issue 6: relogin with the saved cookies).
            self._begin_relogin(logout=self._relogin_event.is_set() and self._relogin_logout)
        self._stop_from_inside()

    def _load_members(self, ready: threading.Event) -> None:
        ready.set()
        try:
            changes = self._loader.load_members()
        except OpenQQError as e:
            # A relogin or stop came first; the next login loads them again.
            self.log.info("background member load ended early: %s", e)
            return
        self._emit_changes(changes)
        if not self._stop_event.is_set():
            self._members_ready.set()

    def wait_for_members(self, timeout: Optional[float] = None) -> bool:
        """Block until every member list of this login is loaded (at once with
        ``member_load="login"`` once running); False on timeout."""
        return self._members_ready.wait(timeout)

    def _begin_relogin(self, logout: bool = True) -> None:
        """Leave the session (5.16): logout (if asked), forget credentials, reset the
        per-session state."""
        self.log.info("relogin: %s, then in again (saved cookies first)",
                      "logging out" if logout else "session lost")
        self._publish_credentials(None)
        if logout:
            self._login.flow.logout()
        self._save_cookies()
        self._sender.clear_sess_sigs()

    def request_relogin(self) -> None:
        """Ask the protocol thread to log in again; returns at once. Ignored when stopped
        or not yet logged in."""
        self._request_relogin(logout=True)

    def _request_relogin(self, logout: bool) -> None:
        # logout=False: the sender's relogin after -3 failures keeps the saved login, so an
        # unattended bot does not end up waiting for a QR scan.
        if self._stop_event.is_set() or self._creds is None:
            return
        self._relogin_logout = logout
        self._relogin_event.set()
        # Cut the held poll2 so the protocol thread sees the request now, not after the hold.
        session = self._poll_session
        if session is not None:
            self._transport.abort(session)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop every thread (bounded by ``timeout``), state ``stop``, ``stop`` emitted,
        pid and QR files removed. Idempotent; callable from any thread, ours included."""
        with self._lock:
            first = not self._stopping
            self._stopping = True
            self._creds_cond.notify_all()
        deadline = time.monotonic() + timeout
        if not first:
            self._finished.wait(timeout)
            join_all(list(self._threads), deadline, time.monotonic)
            return
        self._stop_event.set()
        with self._creds_cond:
            self._creds_cond.notify_all()
        self._sender.wake()
        self._updater.wake()
        self._abort_sessions()
        alive = join_all(list(self._threads), deadline, time.monotonic)
        if alive:
            self.log.warning("%d thread(s) still running after stop: %s", len(alive), ", ".join(alive))
        self._finish()

    def _finish(self) -> None:
        if self._pid_claimed:   # a refused second client must not overwrite the first's files
            self._save_cookies()
        self._set_state(ClientState.STOP)
        self.qrcode = None
        if self._pid_claimed:
            files.release_pid_file(self.config.pid_path, self.pid)
            files.remove_quietly(self.config.qrcode_path)
        self._transport.close()
        self.log.info("stopped%s", f" ({self.error})" if self.error else "")
        self._emit(signals.stop)
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
        self._emit_changes(self._loader.load_group(group))

    def load_discuss_members(self, discuss: Discuss) -> None:
        if discuss.members:
            return
        self._emit_changes(self._loader.load_discuss(discuss))

    # ------------------------------------------------------------------ sending
    def _new_send(self, kind: str, content: Any, from_: str, **fields: Any) -> SendHandle:
        if content is None or str(content) == "":
            raise ValueError("message content is empty")
        if self._cell.value != ClientState.RUNNING:
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
            return bool(ext_api.shutup_members(self._transport, group.get("uid"),
                                               [(m.get("uid"), int(seconds)) for m in members]))
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
            ok = bool(ext_api.kick_members(self._transport, group.get("uid"), [m.get("uid") for m in members]))
        except OpenQQError as e:
            self.log.error("kick failed: %s", e)
            return False
        if ok:
            self._emit_changes(self.contacts.remove_group_members(group, members))
        return ok

    def __repr__(self) -> str:
        return f"<Client {self.config.account!r} {self.state}>"
