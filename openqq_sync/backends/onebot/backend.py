"""OneBot v11 behind the :class:`~openqq_sync.backends.Backend` seam.

The account is logged in by the OneBot server (NapCat, LuckyLilliaBot: in their own UI), so
``login`` connects to the server's forward WebSocket, learns the account
(``get_login_info``) and waits until the server says it is online. Ids are QQ numbers,
the same after every reconnect.

``receive`` (the protocol thread) reads the WebSocket and returns batches of events:
messages as :class:`~openqq_sync.backends.MessageEvent` (the core de-duplicates them by
``message_id``), notices as :class:`~openqq_sync.backends.ContactsEvent` (the core reloads
that part of the contacts and reports the differences). It also keeps the session alive
without a relogin, reporting the state through the host:

* the connection ended (closed, no pong, no OneBot heartbeat): ``loading`` while it
  reconnects with backoff; then ``updating`` and a ``ContactsEvent("all")``, since OneBot
  replays nothing that happened meanwhile; a different account behind the server is a
  relogin (``LoginExpired``);
* the account went offline (``bot_offline``, a heartbeat or ``get_status`` with
  ``online: false``): ``loading`` until the server reports it back, then the same resync.

While not ``running``, the API answers ``client not running``; the batch after a resync puts
the client back to ``running``.

``stop()`` (``abort``) closes the connection at once; a connect attempt under way finishes
first, bounded by ``ua_connect_timeout`` (immediate for a refused loopback or LAN port).
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ...client.contacts import Change, ContactStore
from ...client.poller import Backoff
from ...client.state import ClientState
from ...config import Config
from ...errors import AbortedError, LoginExpired, LoginFailed, LoginStopped, OpenQQError
from ...model import Discuss, Group, GroupMember, Message
from .. import BackendHost, Capabilities, ContactsEvent, Event, LoginResult, MessageEvent, SendResult
from . import actions
from .connection import ActionFailed, Connection, ConnectionLost, TokenRejected, open_with_backoff
from .mapping import group_roles, heartbeat_online, message_item, notice_change

log = logging.getLogger(__name__)

__all__ = ["OneBotBackend"]

#: Seconds between ``get_status`` checks while the account is offline (heartbeats may be
#: a minute apart).
OFFLINE_POLL = 5.0
#: Events taken into one batch at most (a burst is handed over in chunks, not one by one).
BATCH_MAX = 256
_NOTICE_SCOPES = {"new_friend": "friends", "new_group": "groups", "lose_group": "groups",
                  "group_name": "groups", "new_group_member": "group", "lose_group_member": "group",
                  "member_card": "group", "member_role": "group"}


class OneBotBackend:
    """One QQ account through a OneBot v11 server's forward WebSocket.

    :param connect: builds an unopened :class:`Connection` (tests); keyword only.
    """

    name = "onebot"
    capabilities = Capabilities(discuss=False, qr_login=False, sess=True, group_admin=True)

    def __init__(self, config: Config, *, connect: Optional[Any] = None) -> None:
        if not config.onebot_url:
            raise ValueError("the onebot backend needs onebot_url")
        self.config = config
        self.url = config.onebot_url
        self._make = connect if connect is not None else self._new_connection
        self._conn: Optional[Connection] = None       # replaced by the protocol thread only
        # The server's heartbeat interval as the last connection saw it (None: it saw none):
        # the next connection's watchdog runs from its connect.
        self._heartbeat: Optional[float] = None
        self._host: Optional[BackendHost] = None
        self._store: Optional[ContactStore] = None    # for @names in received messages
        self._self_id: Optional[int] = None
        self._server: Dict[str, Any] = {}             # get_version_info
        self._online = True                           # the account, as the server says
        self._resync = False                          # a ContactsEvent("all") is due
        self._held: List[Event] = []                  # received while the account was offline
        self._aborted = threading.Event()
        self._interrupted = threading.Event()
        # Reconnecting is cheap (a local server): a short cap brings the client back within
        # seconds of the server's return.
        self._backoff = Backoff(base=0.25, cap=min(2.0, config.poll_retry_max_delay))

    def _new_connection(self) -> Connection:
        return Connection(self.url, token=self.config.onebot_token,
                          name=f"openqq-{self.config.account}-onebot",
                          action_timeout=self.config.onebot_action_timeout,
                          open_timeout=self.config.ua_connect_timeout, expect_heartbeat=self._heartbeat)

    def _drop(self) -> None:
        """Close the connection (a new one is opened later), keeping what it saw of the heartbeats."""
        conn, self._conn = self._conn, None
        if conn is not None:
            self._heartbeat = conn.heartbeat_interval
            conn.close()

    def _call(self, action: str, params: Optional[Dict[str, Any]] = None, **kw: Any) -> Any:
        conn = self._conn
        if conn is None:
            raise ConnectionLost(f"{action}: not connected")
        return conn.call(action, params, **kw)

    # -- session --------------------------------------------------------------------------
    def restore(self) -> bool:
        return False   # the server keeps the login

    def save(self) -> None:
        pass

    def login(self, host: BackendHost) -> LoginResult:
        """Connect (with backoff while the server is unreachable), learn the account, wait
        until it is online. :raises LoginFailed: the token was refused.
        :raises LoginStopped: the client stops meanwhile."""
        self._host = host
        self._aborted.clear()
        conn = self._open(host)
        try:
            info = conn.call("get_login_info")
            self._self_id = int(info["user_id"])
        except (OpenQQError, KeyError, TypeError, ValueError) as e:
            # A connection that ends here (the NapCat token refusal comes after the
            # handshake) fails the login; the core retries a relogin on network errors.
            conn.close()
            if isinstance(e, ConnectionLost) and not isinstance(e, TokenRejected):
                raise
            raise LoginFailed(f"get_login_info from {self.url} failed: {e}") from e
        try:
            version = conn.call("get_version_info")
            self._server = dict(version) if isinstance(version, dict) else {}
        except OpenQQError:
            self._server = {}
        self._conn = conn
        self._resync = False
        self._online = self._status_online()
        if not self._online:
            log.warning("the account %s is offline on the OneBot server: waiting for it", self._self_id)
            host.set_state(ClientState.LOADING)   # a relogin comes from running: not any more
            self._wait_online(host)
        log.info("OneBot account %s on %s (%s %s)", self._self_id, self.url,
                 self._server.get("app_name", "?"), self._server.get("app_version", ""))
        return LoginResult(is_scan=0)

    def _open(self, host: BackendHost) -> Connection:
        def delay() -> float:
            return self._backoff.next()

        stop = _Either(self._aborted, host)
        try:
            conn = open_with_backoff(self._make, stop, delay)
        except TokenRejected as e:
            raise LoginFailed(str(e)) from e
        if conn is None:
            raise LoginStopped("stopped while connecting")
        self._backoff.reset()
        return conn

    def _status_online(self) -> bool:
        try:
            status = self._call("get_status")
        except ActionFailed:
            return True   # a server without get_status: its heartbeats will tell
        return not (isinstance(status, dict) and status.get("online") is False)

    def _wait_online(self, host: BackendHost) -> None:
        """Login only: poll ``get_status`` until online. :raises LoginStopped:"""
        while not self._online:
            if host.wait(OFFLINE_POLL) or self._aborted.is_set():
                raise LoginStopped("stopped while the account was offline")
            # A lost connection propagates: a network failure, which a relogin retries.
            self._online = self._status_online()

    def logout(self) -> None:
        pass   # the login belongs to the server's UI

    def forget(self) -> None:
        """Before a relogin: drop the connection (login opens a new one)."""
        self._drop()

    def close(self) -> None:
        self.forget()

    def abort(self) -> None:
        self._aborted.set()
        conn = self._conn
        if conn is not None:
            conn.close()

    def end_thread(self) -> None:
        pass

    def describe(self) -> Dict[str, Any]:
        app = " ".join(str(self._server[k]) for k in ("app_name", "app_version") if self._server.get(k))
        conn = self._conn
        return {"backend": self.name, "server": self.url, "server_app": app or None,
                "server_connected": conn is not None and conn.alive, "account_online": self._online,
                # Seconds between the server's heartbeats on this connection (the watchdog
                # also runs from the connect when the previous one saw them).
                "server_heartbeat": conn.heartbeat_interval if conn is not None else None}

    # -- contacts -------------------------------------------------------------------------
    def _try(self, what: str, fn: Any) -> Any:
        if self._aborted.is_set():
            return None
        try:
            return fn()
        except OpenQQError as e:
            if not self._aborted.is_set():
                log.warning("fetching %s failed: %s", what, e)
            return None

    def load_user(self, store: ContactStore) -> None:
        self._store = store
        record = self._try("the user", lambda: actions.fetch_user(self._call))
        if record is None:
            record = {"id": self._self_id, "uid": self._self_id, "account": self._self_id}
        store.set_user(record)

    def load_friends(self, store: ContactStore) -> Optional[List[Change]]:
        records = self._try("friends", lambda: actions.fetch_friends(self._call))
        return None if records is None else store.merge_friends(records)

    def load_groups(self, store: ContactStore) -> Optional[Tuple[List[Change], List[Group]]]:
        records = self._try("groups", lambda: actions.fetch_groups(self._call))
        return None if records is None else store.merge_groups(records)

    def load_discusses(self, store: ContactStore) -> Optional[Tuple[List[Change], List[Discuss]]]:
        return [], []   # QQ NT has no discussion groups

    def load_group_members(self, store: ContactStore, group: Group, *, ext: str = "always") -> List[Change]:
        members = self._try(f"group {group.get('name')!r} members",
                            lambda: actions.fetch_members(self._call, group.get("id")))
        if members is None:
            return []
        return store.merge_group_detail(group, group_roles(members, self._self_id), members, owned=True)

    def load_discuss_members(self, store: ContactStore, discuss: Discuss) -> List[Change]:
        return []

    # -- receiving --------------------------------------------------------------------------
    def interrupt_receive(self) -> None:
        self._interrupted.set()
        conn = self._conn
        if conn is not None:
            conn.wake()

    def receive(self) -> Sequence[Event]:
        """Block for the next batch (protocol thread); see the module docstring.

        :raises AbortedError: ``abort()`` or ``interrupt_receive()`` cut it.
        :raises LoginExpired: a different account is behind the server after a reconnect.
        """
        host = self._host
        if host is None:
            raise LoginExpired(None, message="not logged in")
        while True:
            if self._aborted.is_set():
                raise AbortedError("receive aborted")
            if self._interrupted.is_set():
                self._interrupted.clear()
                raise AbortedError("receive interrupted")
            conn = self._conn
            if conn is None or conn.ended is not None:
                self._reconnect(host)
                continue
            if self._resync and self._online:
                return self._resynced(host, [])
            try:
                first = conn.next_event(timeout=None if self._online else OFFLINE_POLL)
            except ConnectionLost as e:
                log.warning("OneBot connection lost (%s): reconnecting", e)
                continue
            if first is None:
                if not self._online:
                    self._poll_online(host)
                continue
            batch = [first]
            while len(batch) < BATCH_MAX:
                try:
                    more = conn.next_event(timeout=0)
                except ConnectionLost:
                    break
                if more is None:
                    break
                batch.append(more)
            events = self._translate(batch, host)
            if not self._online:
                # Held, not lost: delivered after the resync once the account is back.
                self._held.extend(events)
            elif self._resync:
                return self._resynced(host, events)
            elif events:
                return events

    def _resynced(self, host: BackendHost, events: List[Event]) -> List[Event]:
        """``updating``, and the batch that reloads the contacts first (then ``running``)."""
        self._resync = False
        host.set_state(ClientState.UPDATING)
        log.info("OneBot session back: resyncing the contacts")
        held, self._held = self._held, []
        return [ContactsEvent("all"), *held, *events]

    def _reconnect(self, host: BackendHost) -> None:
        """Open a new connection; ``loading`` meanwhile, a resync due after."""
        self._drop()
        host.set_state(ClientState.LOADING)
        try:
            conn = self._open(host)
        except LoginStopped as e:
            raise AbortedError("stopped while reconnecting") from e
        except LoginFailed as e:
            # The token is refused now: retrying cannot help until the user fixes it.
            raise LoginExpired(None, message=str(e)) from e
        try:
            info = conn.call("get_login_info")
            self_id = int(info["user_id"])
        except TokenRejected as e:
            conn.close()
            raise LoginExpired(None, message=str(e)) from e
        except (OpenQQError, KeyError, TypeError, ValueError) as e:
            log.warning("get_login_info after reconnecting failed (%s): reconnecting", e)
            conn.close()
            return
        if self_id != self._self_id:
            conn.close()
            raise LoginExpired(None, message=f"the OneBot server now serves account {self_id}, "
                                             f"not {self._self_id}")
        self._conn = conn
        self._online = self._status_online()
        self._resync = True
        log.info("reconnected to OneBot server %s", self.url)

    def _poll_online(self, host: BackendHost) -> None:
        try:
            online = self._status_online()
        except (ConnectionLost, OpenQQError) as e:
            log.debug("get_status while offline: %s", e)
            return
        if online:
            self._back_online()

    def _go_offline(self, host: BackendHost, why: str) -> None:
        if self._online:
            log.warning("the OneBot server says the account is offline (%s): not running until it is back", why)
        self._online = False
        host.set_state(ClientState.LOADING)

    def _back_online(self) -> None:
        if not self._online:
            log.info("the OneBot server reports the account online again")
            self._online = True
            self._resync = True

    def _name_of(self, group_id: Any) -> Any:
        store = self._store

        def name_of(qq: str) -> Optional[str]:
            if store is None:
                return None
            group = store.group(group_id) if group_id is not None else None
            member = group.member(qq) if group is not None else None
            contact = member if member is not None else store.friend(qq)
            name = contact.displayname if contact is not None else None
            return name if isinstance(name, str) else None

        return name_of

    def _translate(self, batch: List[Dict[str, Any]], host: BackendHost) -> List[Event]:
        events: List[Event] = []
        seen_scopes = set()
        for ev in batch:
            post = ev.get("post_type")
            if post in ("message", "message_sent"):
                item = message_item(ev, self._self_id, self._name_of(ev.get("group_id")))
                if item is not None:
                    events.append(MessageEvent(item))
            elif post == "notice":
                change = notice_change(ev, self._self_id)
                if change is None:
                    continue
                kind, fields = change
                if kind == "offline":
                    self._go_offline(host, fields.get("message") or "bot_offline")
                    continue
                scope = _NOTICE_SCOPES.get(kind)
                group_id = fields.get("group_id") if scope == "group" else None
                if scope is not None and (scope, group_id) not in seen_scopes:
                    seen_scopes.add((scope, group_id))
                    events.append(ContactsEvent(scope, group_id))
            elif post == "meta_event" and ev.get("meta_event_type") == "heartbeat":
                online = heartbeat_online(ev)
                if online is False:
                    self._go_offline(host, "heartbeat status.online false")
                elif online is True:
                    self._back_online()
        return events

    # -- sending and group admin --------------------------------------------------------------
    def send(self, msg: Message) -> SendResult:
        """One attempt (sender thread); never raises. Discussions do not exist (final 102)."""
        kind = msg.type
        if kind == "discuss_message" or (kind == "sess_message" and msg.via != "group"):
            return SendResult(102, "发送失败", "讨论组不存在(QQ NT没有讨论组)", final=True)
        if not self._online:
            return SendResult(-1, "发送失败", "帐号已离线", final=False)
        content = msg.content if msg.content is not None else ""
        try:
            result, message_id = actions.send(self._call, kind, str(content), user_id=msg.receiver_id,
                                              group_id=msg.group_id)
        except (TypeError, ValueError) as e:
            return SendResult(-1, "发送失败", f"无效的目标: {e}", final=True)
        if message_id is not None:
            msg.set(onebot_message_id=message_id)
        return result

    def shutup(self, group: Group, members: Sequence[Tuple[GroupMember, int]]) -> bool:
        ok = True
        for member, seconds in members:
            ok = actions.shutup(self._call, group.get("id"), [member.get("id")], seconds) and ok
        return ok

    def kick(self, group: Group, members: Sequence[GroupMember]) -> bool:
        ids = [m.get("id") for m in members]
        return len(actions.kick(self._call, group.get("id"), ids)) == len(ids)


class _Either:
    """A stop flag for :func:`open_with_backoff`: the backend's abort or the client's stop."""

    def __init__(self, aborted: threading.Event, host: BackendHost) -> None:
        self._aborted = aborted
        self._host = host

    def is_set(self) -> bool:
        return self._aborted.is_set() or self._host.stopping()

    def wait(self, seconds: float) -> bool:
        # The host's wait ends at stop(); abort() comes with stop().
        return self._host.wait(seconds) or self._aborted.is_set()
