"""SmartQQ behind the :class:`~openqq_sync.backends.Backend` seam.

Owns what only SmartQQ has: the transport and its cookie jar (saved in the tmpdir), the
credentials snapshot (``psessionid``, ``vfwebqq``, ``ptwebqq``), the QR login decision tree
(``qrlogin``), the ext data of qun.qq.com matched onto contacts by name, poll2's retcodes,
relink and ptwebqq updates, and the sess signatures of temporary messages.

Every thread's requests go through its own Session, registered here so that ``abort()``
cuts them all at once (``stop()``).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple, TypeVar

import requests

from ...client.contacts import Change, ContactStore
from ...config import Config
from ...errors import LoginExpired, NeedRelink, OpenQQError, TransportError
from ...model import Discuss, Group, GroupMember, Message
from .. import (Backend, BackendHost, Capabilities, Event, KickedEvent, LoginResult, MessageEvent,
                PresenceEvent, SendResult)
from . import contacts as api
from . import extmatch
from . import ext as ext_api
from . import poll as poll_api
from . import send as send_api
from .login import Credentials, LoginFlow
from .qrlogin import LoginMachine
from .transport import Transport

log = logging.getLogger(__name__)

__all__ = ["SmartQQBackend"]

SESS_SIG_TTL = 300.0
FAIL_NO_SIG = SendResult(-5, "发送失败", "无法获取到sess_sig", final=True)
FAIL_NETWORK = SendResult(-1, "发送失败", "数据格式错误")

_T = TypeVar("_T")


class SmartQQBackend:
    """One SmartQQ account. :param transport: an already built Transport (tests)."""

    name = "smartqq"
    capabilities = Capabilities(discuss=True, qr_login=True, sess=True, group_admin=True)

    def __init__(self, config: Config, *, transport: Optional[Transport] = None) -> None:
        self.config = config
        self.transport = transport if transport is not None else Transport(config)
        self._creds: Optional[Credentials] = None
        self._flow = LoginFlow(self.transport, config)
        self._psessionid: Optional[str] = None   # the previous session's, sent on relogin (5.8)
        self._sessions: "weakref.WeakSet[requests.Session]" = weakref.WeakSet()
        self._poll_session: Optional[requests.Session] = None
        self._send_session: Optional[requests.Session] = None
        self._sigs: Dict[Tuple[Any, Any, int], Tuple[float, str]] = {}
        self._face: Any = None                    # the account's avatar id, repeated in sends
        self._lock = threading.Lock()
        self._aborted = False                     # after abort() nothing more is fetched

    # -- sessions -------------------------------------------------------------------------
    def _session(self) -> requests.Session:
        """The calling thread's Session, registered so that abort() can cut it."""
        session = self.transport.thread_session()
        with self._lock:
            self._sessions.add(session)
        return session

    def _new_session(self) -> requests.Session:
        session = self.transport.new_session()
        with self._lock:
            self._sessions.add(session)
        return session

    def end_thread(self) -> None:
        """The calling (worker) thread is done: close its Session's pooled connections."""
        self.transport.discard_session(self.transport.thread_session())

    def abort(self) -> None:
        with self._lock:
            self._aborted = True
            sessions = list(self._sessions)
        for session in sessions:
            try:
                self.transport.abort(session)
            except Exception:  # best effort: stop must go on
                log.debug("aborting a session failed", exc_info=True)

    def interrupt_receive(self) -> None:
        session = self._poll_session
        if session is not None:
            self.transport.abort(session)

    def close(self) -> None:
        self.transport.close()

    def describe(self) -> Dict[str, Any]:
        return {"backend": self.name, "server": self.config.server}

    # -- login ----------------------------------------------------------------------------
    def restore(self) -> bool:
        if not self.config.keep_cookie:
            return False
        return self.transport.load_cookies(self.config.cookie_path)

    def save(self) -> None:
        if not self.config.keep_cookie:
            return
        try:
            self.transport.save_cookies(self.config.cookie_path)
        except OSError as e:
            log.warning("could not save cookies to %s: %s", self.config.cookie_path, e)

    def login(self, host: BackendHost) -> LoginResult:
        self._session()
        machine = LoginMachine(self._flow, host)
        machine.psessionid = self._psessionid
        creds, is_scan = machine.login()
        self._psessionid = creds.psessionid
        self._creds = creds
        return LoginResult(is_scan=is_scan)

    def resume(self, creds: Credentials) -> None:
        """Use credentials of a session obtained elsewhere (no login call follows)."""
        self._creds = creds

    def logout(self) -> None:
        self._flow.logout()

    def forget(self) -> None:
        self._creds = None
        self._sigs = {}

    def _credentials(self) -> Credentials:
        creds = self._creds
        if creds is None:
            raise LoginExpired(None, message="not logged in")
        return creds

    # -- contacts -------------------------------------------------------------------------
    def _try(self, what: str, fn: Callable[[], _T]) -> Optional[_T]:
        """Run one fetch; log and return None on failure (LoginExpired propagates)."""
        if self._aborted:
            return None
        self._session()
        try:
            return fn()
        except LoginExpired:
            raise
        except OpenQQError as e:
            if self._aborted:
                return None
            log.warning("fetching %s failed: %s", what, e)
            return None

    def load_user(self, store: ContactStore) -> None:
        creds = self._credentials()
        record = self._try("the user", lambda: api.fetch_user(self.transport, creds))
        if record is None:
            record = {"id": creds.uid, "uid": creds.uid}
        self._face = record.get("face")
        store.set_user(record)

    def load_friends(self, store: ContactStore) -> Optional[List[Change]]:
        """The friends, with ext data (their QQ numbers) at a first load and for new ones."""
        creds = self._credentials()
        first = not store.friends()
        records = self._try("friends", lambda: api.fetch_friends(self.transport, creds))
        if records is None:
            return None
        changes = store.merge_friends(records)
        if first or any(name == "new_friend" for name, _ in changes):
            ext = self._try("friend ext", lambda: ext_api.fetch_friends_ext(self.transport))
            if ext is not None:
                matched = extmatch.match_friends(store, ext)
                log.debug("friend ext: %d of %d matched", matched, len(ext))
        return changes

    def load_groups(self, store: ContactStore) -> Optional[Tuple[List[Change], List[Group]]]:
        creds = self._credentials()
        records = self._try("groups", lambda: api.fetch_groups(self.transport, creds))
        if records is None:
            return None
        changes, added = store.merge_groups(records)
        if added:
            ext = self._try("group ext", lambda: ext_api.fetch_groups_ext(self.transport))
            if ext is not None:
                changes.extend(extmatch.match_groups(store, ext))
        return changes, added

    def load_discusses(self, store: ContactStore) -> Optional[Tuple[List[Change], List[Discuss]]]:
        creds = self._credentials()
        records = self._try("discussions", lambda: api.fetch_discusses(self.transport, creds))
        if records is None:
            return None
        return store.merge_discusses(records)

    def load_group_members(self, store: ContactStore, group: Group, *, ext: str = "always") -> List[Change]:
        creds = self._credentials()
        detail = self._try(f"group {group.get('name')!r} members",
                           lambda: api.fetch_group_detail(self.transport, creds, group.get("code")))
        if detail is None:
            return []
        record, members = detail
        fresh = not group.members
        changes = store.merge_group_detail(group, record, members, owned=True)
        if ext == "always" or (ext == "new" and (fresh or any(n == "new_group_member" for n, _ in changes))):
            changes.extend(self._group_members_ext(store, group, fresh=fresh))
        return changes

    def _group_members_ext(self, store: ContactStore, group: Group, *, fresh: bool) -> List[Change]:
        """Member ext; for a member list loaded just now (``fresh``) the ext values are
        first values of a first load, not changes, and are not reported."""
        user = store.user
        if group.get("uid") is None or user is None or user.get("uid") is None:
            return []
        ext = self._try(f"group {group.get('name')!r} member ext",
                        lambda: ext_api.fetch_group_members_ext(self.transport, group.get("uid"), user.get("uid")))
        if ext is None:
            return []
        return extmatch.match_group_members(store, group, ext, report=not fresh)

    def load_discuss_members(self, store: ContactStore, discuss: Discuss) -> List[Change]:
        creds = self._credentials()
        record = self._try(f"discussion {discuss.get('name')!r} members",
                           lambda: api.fetch_discuss_detail(self.transport, creds, discuss.get("id")))
        if record is None:
            return []
        return store.merge_discuss_detail(discuss, record)

    # -- receiving --------------------------------------------------------------------------
    def receive(self) -> Sequence[Event]:
        creds = self._credentials()
        session = self._session()
        self._poll_session = session
        try:
            result = poll_api.poll(self.transport, creds, session=session,
                                   timeout=self.config.ua_request_timeout)
        except NeedRelink as e:
            self._relink(e)
            return []
        if result.ptwebqq:
            self._new_ptwebqq(result.ptwebqq)
        events: List[Event] = []
        for item in result.items:
            kind = item.get("type")
            if kind == "kick_message":
                events.append(KickedEvent(str(item.get("reason") or "forced offline")))
            elif kind == "buddies_status_change":
                events.append(PresenceEvent(item.get("friend_id"), item.get("state"), item.get("client_type")))
            else:
                events.append(MessageEvent(item))
        return events

    def _relink(self, error: OpenQQError) -> None:
        """Relink with login2 (5.16); a failure is a lost session."""
        log.info("poll2 asks for a relink (%s)", error)
        try:
            self._creds = self._flow.relink(self._credentials())
        except OpenQQError as e:
            log.warning("relink failed (%s): relogin", e)
            raise LoginExpired(None, message=f"relink failed: {e}") from e
        self.save()

    def _new_ptwebqq(self, value: str) -> None:
        creds = self._creds
        if creds is None or creds.ptwebqq == value:
            return
        self.transport.set_cookie("ptwebqq", value, "qq.com")
        self._creds = dataclasses.replace(creds, ptwebqq=value)

    # -- sending ------------------------------------------------------------------------------
    def _face_for(self, kind: str) -> int:
        if not self._face:
            return 570 if kind == "friend_message" else 591
        return int(self._face)

    def send(self, msg: Message) -> SendResult:
        """One attempt (sender thread). -3 means a suspect session; a discussion's -3 is final."""
        creds = self._creds
        if creds is None:
            return FAIL_NETWORK
        if self._send_session is None:
            self._send_session = self._new_session()
        kind = msg.type
        sig = None
        service_type = None
        if kind == "friend_message":
            target = msg.receiver_id
        elif kind == "group_message":
            target = msg.group_id
        elif kind == "discuss_message":
            target = msg.discuss_id
        else:
            target = msg.receiver_id
            via_group = msg.via == "group"
            service_type = 0 if via_group else 1
            owner_id = msg.group_id if via_group else msg.discuss_id
            sig = self._sess_sig(creds, owner_id, target, service_type)
            if not sig:
                return FAIL_NO_SIG
            msg.set(sess_sig=sig)
        try:
            status = send_api.send(self.transport, creds, kind, target, msg.raw_content, msg.id,
                                   self._face_for(kind), sess_sig=sig,
                                   service_type=service_type, session=self._send_session)
        except OpenQQError as e:
            log.warning("send %s: %s", msg.id, e)
            if isinstance(e, TransportError) and e.aborted:
                self._send_session = self._new_session()
            return FAIL_NETWORK
        return SendResult(status.code, status.msg, status.info,
                          final=kind == "discuss_message" and status.code == -3,
                          session_suspect=status.code == -3)

    def _sess_sig(self, creds: Credentials, owner_id: Any, to_uin: Any, service_type: int) -> Optional[str]:
        key = (owner_id, to_uin, service_type)
        now = time.monotonic()
        cached = self._sigs.get(key)
        if cached and now - cached[0] < SESS_SIG_TTL:
            return cached[1]
        try:
            sig = send_api.get_sess_sig(self.transport, creds, owner_id, to_uin, service_type,
                                        session=self._send_session)
        except OpenQQError as e:
            log.warning("no sess signature for %s/%s: %s", owner_id, to_uin, e)
            return None
        if sig:
            self._sigs[key] = (now, sig)
        return sig

    # -- group admin (9) ---------------------------------------------------------------------
    def shutup(self, group: Group, members: Sequence[Tuple[GroupMember, int]]) -> bool:
        return bool(ext_api.shutup_members(self.transport, group.get("uid"),
                                           [(m.get("uid"), int(seconds)) for m, seconds in members]))

    def kick(self, group: Group, members: Sequence[GroupMember]) -> bool:
        return bool(ext_api.kick_members(self.transport, group.get("uid"), [m.get("uid") for m in members]))


if TYPE_CHECKING:
    def _implements(backend: SmartQQBackend) -> Backend:
        return backend   # mypy checks here that SmartQQBackend is a Backend
