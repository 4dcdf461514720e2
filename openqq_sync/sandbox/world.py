"""SandboxWorld: the stateful SmartQQ fake behind the HTTP face (house style R4).

It holds the generated world (``generator.py``), the login flow (QR codes, grants, sessions),
the per-session poll2 queues behind one Condition, the sent-message and admin logs, faults
and delays, and the test verbs that the ``/sandbox/`` control API exposes one to one.

Vocabulary:
* a **QR code** is one ``ptqrshow`` answer, identified by its ``qrsig`` cookie;
* a **grant** is one account login (QR scan, password login): its cookies (``skey``,
  ``supertoken``...), its ``vfwebqq`` and its ``IdSpace``. A quick relogin (pt4_auth) reuses
  the grant, so ids stay; a new QR login makes a new grant and kills the old one;
* a **session** is one ``login2``: a ``psessionid`` with a clientid and a poll2 queue.

Thread-safe: every public method takes ``self._lock``; poll2 waits on ``self._cond``.
"""

from __future__ import annotations

import collections
import logging
import math
import random
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Deque, Dict, List, Optional, Set, Tuple, TypeVar, Union

from . import _content
from ._ids import IdSpace
from ._mutations import MutationsMixin
from .generator import WorldData, generate

_T = TypeVar("_T")

log = logging.getLogger(__name__)

_TOKEN_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
IDLE_POLL = {"errmsg": "error!!!", "retcode": 0}
MESSAGE_TYPES = ("friend_message", "group_message", "discuss_message", "sess_message")
#: Presence values get_online_buddies2 and buddies_status_change carry ("offline": absent).
FRIEND_STATES = ("online", "away", "busy", "silent", "hidden", "callme", "offline")
KICK_REASON = "您的帐号在另一地点登录，您已被迫下线。"


def token(n: int, alphabet: str = _TOKEN_CHARS) -> str:
    """A random token out of ``alphabet`` (query-safe characters only, protocol doc 2)."""
    return "".join(secrets.choice(alphabet) for _ in range(n))


@dataclass
class QrCode:
    sig: str
    created: float
    expires: float
    scanned_at: Optional[float] = None
    confirmed_at: Optional[float] = None
    expired: bool = False
    used: bool = False


@dataclass
class Grant:
    qq: int
    ids: IdSpace
    skey: str = field(default_factory=lambda: "@" + token(9))
    supertoken: str = field(default_factory=lambda: token(32, _TOKEN_CHARS + "-*"))
    ptwebqq: str = field(default_factory=lambda: token(64, "0123456789abcdef"))
    ptcz: str = field(default_factory=lambda: token(64, "0123456789abcdef"))
    p_skey: str = field(default_factory=lambda: token(44, _TOKEN_CHARS + "-*_"))
    pt4_token: str = field(default_factory=lambda: token(44, _TOKEN_CHARS + "-*_"))
    vfwebqq: str = field(default_factory=lambda: token(80, "0123456789abcdef"))
    hash_ptwebqq: str = ""      # the ptwebqq the client sent in login2 (or got by retcode 116)
    sigs: Set[str] = field(default_factory=set)   # pending check_sig ptsigx tokens
    # group_sig -> (service_type, via id, to id)
    sess_sigs: Dict[str, Tuple[int, int, int]] = field(default_factory=dict)
    checked: bool = False       # check_sig done
    alive: bool = True
    logins: int = 0             # login2 calls


@dataclass
class Session:
    psessionid: str
    clientid: int
    grant: Grant
    queue: Deque[Dict[str, Any]] = field(default_factory=collections.deque)
    alive: bool = True
    poll_gen: int = 0


@dataclass
class Fault:
    retcode: Optional[int] = None
    status: Optional[int] = None
    hang: Optional[float] = None
    remaining: int = 1



def finite(name: str, value: Any, low: float, high: float) -> float:
    """``value`` as a float within ``[low, high]``; NaN and infinities (which JSON bodies can
    carry as ``NaN``/``Infinity``) are refused like any value out of range.

    :raises ValueError: not a number, or out of range.
    """
    number = float(value)
    if not math.isfinite(number) or not low <= number <= high:
        raise ValueError(f"{name} must be a number from {low:g} to {high:g}, not {value!r}")
    return number

class SandboxWorld(MutationsMixin):
    """The world and its state. Thread-safe.

    :param world: ``"small"`` or ``"large"``.
    :param seed: generator seed; QQ numbers and names are stable for a seed.
    :param auto_scan: seconds after ptqrshow until the phone "scans"; ``None`` = control call.
    :param auto_confirm: seconds after the scan until the phone "confirms"; ``None`` = control.
    :param qrcode_ttl: seconds until a QR code expires.
    :param poll_hold: seconds an idle poll2 is held before the "nothing new" answer.
    :param echo_sends: also deliver the account's own sends back through poll2 (the real
        service did; off by default because the client drops echoes anyway).
    """

    def __init__(self, world: str = "small", seed: int = 1, *, auto_scan: Optional[float] = 1.0,
                 auto_confirm: Optional[float] = 1.0, qrcode_ttl: float = 120.0,
                 poll_hold: float = 25.0, echo_sends: bool = False,
                 _clock: Callable[[], float] = time.monotonic) -> None:  # test shim
        self.data: WorldData = generate(world, seed)
        self.auto_scan = auto_scan
        self.auto_confirm = auto_confirm
        self.qrcode_ttl = qrcode_ttl
        self.poll_hold = poll_hold
        self.echo_sends = echo_sends
        self._clock = _clock
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._id_rng = random.Random("openqq-sandbox-ids:%s" % seed)
        self._qrcodes: Dict[str, QrCode] = {}
        self._grant: Optional[Grant] = None          # the account's live grant
        self._sessions: Dict[str, Session] = {}
        self._faults: Dict[str, Deque[Fault]] = {}
        self._delays: Dict[str, float] = {}
        self._sent: List[Dict[str, Any]] = []
        self._admin: List[Dict[str, Any]] = []
        self._msg_id = 10_000
        self._polls_held = 0
        self.chatter_rate = 0.0
        self.chatter_changed = threading.Event()
        self._observers: List[Callable[[str, Dict[str, Any]], None]] = []
        self.onebot: Any = None  # the OneBot face serving this world, if any (its control routes)

    # ---- lifecycle --------------------------------------------------------------------
    @property
    def stopping(self) -> threading.Event:
        """Set by ``stop()``; hangs and delays wait on it."""
        return self._stopping

    def stop(self) -> None:
        """Wake every held poll2 (they answer at once) and refuse new holds. Idempotent."""
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()

    def add_observer(self, fn: Callable[[str, Dict[str, Any]], None]) -> None:
        """Call ``fn(kind, facts)`` on every world change a OneBot consumer sees (messages,
        contact changes, admin actions, kicks). Called with the world lock held: ``fn`` must
        only queue the facts, never call back into the world. Thread-safe."""
        with self._lock:
            self._observers.append(fn)

    def _notify_locked(self, kind: str, **facts: Any) -> None:
        for fn in self._observers:
            fn(kind, facts)

    def status(self) -> Dict[str, Any]:
        """A summary for ``GET /sandbox/status``. Thread-safe."""
        with self._lock:
            return {"world": self.data.size, "seed": self.data.seed, "account_uid": self.data.account.qq,
                    "logged_in": self._grant is not None and self._grant.alive,
                    "qrcodes_pending": len(self._pending_qrcodes()), "sessions": len(self._sessions),
                    "polls_held": self._polls_held, "sent": len(self._sent), "auto_scan": self.auto_scan,
                    "auto_confirm": self.auto_confirm, "qrcode_ttl": self.qrcode_ttl,
                    "poll_hold": self.poll_hold, "echo_sends": self.echo_sends, "chatter": self.chatter_rate}

    def set_chatter(self, rate: float) -> Dict[str, Any]:
        """Contacts send ``rate`` messages per minute to the account (0 = quiet). Thread-safe."""
        rate = finite("rate", rate, 0, 60000)
        self.chatter_rate = rate
        self.chatter_changed.set()
        return {"chatter": rate}

    # ---- QR login ---------------------------------------------------------------------
    def new_qrcode(self) -> str:
        """Register a new QR code and return its ``qrsig``."""
        now = self._clock()
        sig = token(56, _TOKEN_CHARS + "-*")
        qr = QrCode(sig=sig, created=now, expires=now + self.qrcode_ttl)
        if self.auto_scan is not None:
            qr.scanned_at = now + self.auto_scan
            if self.auto_confirm is not None:
                qr.confirmed_at = qr.scanned_at + self.auto_confirm
        with self._lock:
            # Keep only the live codes (a client downloads at most 10 per login attempt).
            self._qrcodes = {k: v for k, v in self._qrcodes.items() if not v.used and now < v.expires + 600}
            self._qrcodes[sig] = qr
        return sig

    def qr_state(self, qrsig: Optional[str]) -> str:
        """``waiting`` | ``scanned`` | ``confirmed`` | ``expired`` for a ptqrlogin poll."""
        now = self._clock()
        with self._lock:
            qr = self._qrcodes.get(qrsig or "")
            if qr is None or qr.used:
                return "expired"
            if qr.confirmed_at is not None and qr.confirmed_at <= now and not qr.expired \
                    and qr.confirmed_at < qr.expires:
                return "confirmed"
            if qr.expired or now >= qr.expires:
                return "expired"
            if qr.scanned_at is not None and qr.scanned_at <= now:
                return "scanned"
            return "waiting"

    def complete_qr_login(self, qrsig: str) -> Optional[Grant]:
        """Spend a confirmed QR code: a new grant with fresh ids (the old grant dies).

        Returns ``None`` if the code was spent meanwhile (two ptqrlogin calls racing).
        """
        with self._lock:
            qr = self._qrcodes.get(qrsig)
            if qr is not None:
                if qr.used:
                    return None
                qr.used = True
            return self._new_grant_locked()

    def _new_grant_locked(self) -> Grant:
        self._kill_grant_locked()
        grant = Grant(qq=self.data.account.qq, ids=IdSpace(random.Random(self._id_rng.getrandbits(64))))
        self._grant = grant
        log.info("sandbox: new login of %s (fresh ids)", grant.qq)
        return grant

    def _pending_qrcodes(self) -> List[QrCode]:
        now = self._clock()
        return [q for q in self._qrcodes.values() if not q.used and not q.expired and now < q.expires]

    def scan(self) -> int:
        """The phone scans every waiting QR code. Returns how many. Thread-safe."""
        now = self._clock()
        with self._lock:
            pending = [q for q in self._pending_qrcodes() if q.scanned_at is None or q.scanned_at > now]
            for q in pending:
                q.scanned_at = now
                if self.auto_confirm is not None:
                    q.confirmed_at = now + self.auto_confirm
                else:
                    q.confirmed_at = None
            return len(pending)

    def confirm(self) -> int:
        """The phone confirms every scanned QR code. Returns how many. Thread-safe."""
        now = self._clock()
        with self._lock:
            scanned = [q for q in self._pending_qrcodes() if q.scanned_at is not None and q.scanned_at <= now]
            for q in scanned:
                q.confirmed_at = now
            return len(scanned)

    def expire_qrcode(self) -> int:
        """Expire every live QR code. Returns how many. Thread-safe."""
        with self._lock:
            pending = self._pending_qrcodes()
            for q in pending:
                q.expired = True
            return len(pending)

    # ---- grants and cookies -----------------------------------------------------------
    def grant_by_cookies(self, uin: Optional[str], skey: Optional[str], *, checked: bool = True) -> Optional[Grant]:
        """The live grant that the ``uin`` and ``skey`` cookies name (check_sig done if ``checked``)."""
        qq = _qq_of_uin_cookie(uin)
        with self._lock:
            g = self._grant
            if g is None or not g.alive or qq != g.qq or not skey or skey != g.skey:
                return None
            if checked and not g.checked:
                return None
            return g

    def grant_by_supertoken(self, superuin: Optional[str], supertoken: Optional[str]) -> Optional[Grant]:
        qq = _qq_of_uin_cookie(superuin)
        with self._lock:
            g = self._grant
            if g is None or not g.alive or qq != g.qq or not supertoken or supertoken != g.supertoken:
                return None
            return g

    def new_check_sig(self, grant: Grant) -> str:
        """A one-time ``ptsigx`` for the check_sig URL of ``grant``."""
        sig = token(64, "0123456789abcdef")
        with self._lock:
            grant.sigs.add(sig)
        return sig

    def check_sig(self, ptsigx: Optional[str]) -> Optional[Grant]:
        """Consume a ``ptsigx``; the grant it belongs to (now usable), or ``None``."""
        with self._lock:
            g = self._grant
            if g is None or not g.alive or not ptsigx or ptsigx not in g.sigs:
                return None
            g.sigs.discard(ptsigx)
            g.checked = True
            return g

    def password_login(self, qq: int) -> Optional[Grant]:
        """The qun.qq.com password login (5.12): reuses the live grant, else makes one."""
        with self._lock:
            if qq != self.data.account.qq:
                return None
            if self._grant is not None and self._grant.alive:
                return self._grant
            return self._new_grant_locked()

    def logout(self, grant: Grant) -> None:
        """Kill the grant: its cookies, supertoken and sessions stop working."""
        with self._cond:
            if grant is self._grant:
                self._kill_grant_locked()

    def expire_session(self) -> bool:
        """Control verb: the live login stops working (cookies, supertoken, psessionid)."""
        with self._cond:
            had = self._grant is not None and self._grant.alive
            self._kill_grant_locked()
            return had

    def _kill_grant_locked(self) -> None:
        if self._grant is not None:
            self._grant.alive = False
        for s in self._sessions.values():
            s.alive = False
        self._sessions.clear()
        self._grant = None
        self._cond.notify_all()

    # ---- SmartQQ sessions -------------------------------------------------------------
    def login2(self, grant: Grant, ptwebqq: Optional[str], clientid: int) -> Optional[Session]:
        """A new session for ``grant``; older sessions of the grant die (their polls get 103)."""
        with self._cond:
            if not grant.alive:
                return None
            # Messages not yet polled follow the account into the new session (a relink or
            # a quick relogin), as the service kept a live account's pending messages.
            pending: Deque[Dict[str, Any]] = collections.deque()
            for s in self._sessions.values():
                if s.grant is grant:
                    pending.extend(s.queue)
                s.alive = False
            self._sessions.clear()
            grant.hash_ptwebqq = ptwebqq or ""
            grant.logins += 1
            s = Session(psessionid=token(80, "0123456789abcdef"), clientid=clientid, grant=grant,
                        queue=pending)
            self._sessions[s.psessionid] = s
            self._cond.notify_all()
            return s

    def session(self, psessionid: Optional[str], clientid: Any) -> Optional[Session]:
        """The live session for ``psessionid`` if ``clientid`` matches, else ``None``."""
        with self._lock:
            s = self._sessions.get(psessionid or "")
            if s is None or not s.alive or str(s.clientid) != str(clientid):
                return None
            return s

    def new_sess_sig(self, grant: Grant, service_type: int, via: Any, qq: int) -> str:
        """Issue a temporary-session signature (``get_c2cmsg_sig2``) for ``send_sess_msg2``."""
        sig = token(64, "0123456789abcdef")
        with self._lock:
            grant.sess_sigs[sig] = (service_type, via, qq)
        return sig

    def set_hash_ptwebqq(self, grant: Grant, ptwebqq: str) -> None:
        with self._lock:
            grant.hash_ptwebqq = ptwebqq

    def poll(self, s: Session, hold: Optional[float] = None) -> Optional[List[Dict[str, Any]]]:
        """Hold until ``s`` has messages (return them all) or the hold ends (return ``[]``).

        Returns ``None`` when the session died meanwhile (the caller answers 103). A newer
        poll2 of the same session ends an older held one with the idle answer.
        """
        hold = self.poll_hold if hold is None else hold
        with self._cond:
            s.poll_gen += 1
            gen = s.poll_gen
            self._polls_held += 1
            self._cond.notify_all()
            try:
                self._cond.wait_for(lambda: s.queue or not s.alive or s.poll_gen != gen
                                    or self._stopping.is_set(), timeout=hold)
                if not s.alive:
                    return None
                if s.poll_gen != gen:
                    return []
                items = list(s.queue)
                s.queue.clear()
                if any(i.get("poll_type") == "kick_message" for i in items):
                    self._kill_grant_locked()
                return items
            finally:
                self._polls_held -= 1
                self._cond.notify_all()

    def wait_for_polls(self, n: int = 1, timeout: float = 5.0) -> bool:
        """Test helper: wait until at least ``n`` poll2 requests are held. Thread-safe."""
        with self._cond:
            return self._cond.wait_for(lambda: self._polls_held >= n, timeout=timeout)

    @property
    def polls_held(self) -> int:
        with self._lock:
            return self._polls_held

    # ---- messages to the account --------------------------------------------------------
    def inject_message(self, type: str, sender_uid: Union[int, str], content: Any,
                       group_uid: Union[int, str, None] = None, discuss_key: Optional[str] = None) -> Dict[str, Any]:
        """Deliver a message to the account through poll2. Thread-safe.

        :param type: ``friend_message`` | ``group_message`` | ``discuss_message`` | ``sess_message``.
        :param sender_uid: the sender's QQ number (the account's own number makes an echo).
        :param content: text (``[微笑]`` becomes a face) or a list of raw segments.
        :param group_uid: the group number (group messages; sess messages via a group).
        :param discuss_key: the discussion key (discussion messages; sess via a discussion).
        :raises ValueError: unknown type, sender, group or discussion.
        :returns: ``{"msg_id": ..., "delivered": <sessions that got it>}``.
        """
        if type not in MESSAGE_TYPES:
            raise ValueError("unknown message type %r" % (type,))
        if content is None or content == "" or content == []:
            raise ValueError("empty content")
        sender_uid = int(sender_uid)
        group_uid = int(group_uid) if group_uid is not None and group_uid != "" else None
        wire = _content.to_wire(content)
        with self._cond:
            d = self.data
            me = d.account.qq
            if type == "friend_message":
                if sender_uid != me and sender_uid not in d.friends:
                    raise ValueError("no friend with uid %s" % sender_uid)
            elif type == "group_message" or (type == "sess_message" and group_uid is not None):
                g = d.groups.get(group_uid) if group_uid is not None else None
                if g is None:
                    raise ValueError("no group with uid %s" % group_uid)
                if sender_uid not in g.members:
                    raise ValueError("%s is not a member of group %s" % (sender_uid, group_uid))
            elif type in ("discuss_message", "sess_message"):
                dc = d.discusses.get(discuss_key or "")
                if dc is None:
                    raise ValueError("no discussion with key %r" % (discuss_key,))
                if sender_uid not in dc.members:
                    raise ValueError("%s is not a member of discussion %s" % (sender_uid, discuss_key))
            self._msg_id += 1
            msg_id = self._msg_id
            delivered = self._to_sessions_locked(lambda s: self._poll_item(
                s.grant, type, msg_id, sender_uid, wire, group_uid, discuss_key))
            if self._observers and type != "discuss_message" and not (type == "sess_message" and group_uid is None):
                self._notify_locked("message", type=type, msg_id=msg_id, user_id=sender_uid, group_id=group_uid,
                                    content=content, wire=wire, sender=self._person_locked(sender_uid, group_uid))
        return {"msg_id": msg_id, "delivered": delivered}

    def _person_locked(self, qq: int, group_uid: Optional[int]) -> Dict[str, Any]:
        """Name, sex, card and role of ``qq`` (in ``group_uid``), for a OneBot sender object."""
        d = self.data
        grp = d.groups.get(group_uid) if group_uid is not None else None
        m = grp.members.get(qq) if grp is not None else None
        f = d.friends.get(qq)
        if qq == d.account.qq:
            nick, sex = d.account.nick, d.account.gender
        else:
            nick, sex = ((m.nick, m.gender) if m is not None else (f.nick, f.gender) if f is not None
                         else (str(qq), "unknown"))
        return {"nickname": nick, "sex": sex, "card": (m.card or "") if m is not None else "",
                "role": m.role if m is not None else "member", "group_name": grp.name if grp is not None else ""}

    def new_msg_id(self) -> int:
        """A message id for a send that did not come through SmartQQ (the OneBot face). Thread-safe."""
        with self._lock:
            self._msg_id += 1
            return self._msg_id

    def set_friend_status(self, uid: int, status: str, client_type: int = 1) -> Dict[str, Any]:
        """A friend's presence changes: get_online_buddies2 shows it, and every live session
        gets a ``buddies_status_change`` poll item. Thread-safe.

        :raises ValueError: an unknown friend or status.
        :returns: ``{"delivered": <sessions that got it>}``.
        """
        if status not in FRIEND_STATES:
            raise ValueError("unknown status %r (one of %s)" % (status, ", ".join(FRIEND_STATES)))
        uid, client_type = int(uid), int(client_type)
        with self._cond:
            f = self.data.friends.get(uid)
            if f is None:
                raise ValueError("no friend with uid %s" % uid)
            f.status = None if status == "offline" else status
            f.client_type = client_type
            return {"delivered": self._to_sessions_locked(lambda s: {
                "poll_type": "buddies_status_change",
                "value": {"uin": s.grant.ids.to_id("person", uid), "status": status, "client_type": client_type}})}

    def kick(self, reason: str = KICK_REASON, show_reason: int = 1) -> Dict[str, Any]:
        """The service forces the login offline ("logged in elsewhere"): every live session
        gets a ``kick_message`` poll item, and the login dies once one has been polled, as
        the service's did (later polls answer 103, cookies stop working). Thread-safe.

        :returns: ``{"delivered": <sessions that got it>}``.
        """
        show_reason = int(show_reason)
        with self._cond:
            self._notify_locked("offline", reason=str(reason))
            return {"delivered": self._to_sessions_locked(lambda s: {
                "poll_type": "kick_message", "value": {"show_reason": show_reason, "reason": str(reason),
                                                       "way": "poll"}})}

    def _to_sessions_locked(self, item_for: Callable[[Session], Dict[str, Any]]) -> int:
        delivered = 0
        for s in self._sessions.values():
            if s.alive:
                s.queue.append(item_for(s))
                delivered += 1
        self._cond.notify_all()
        return delivered

    def _poll_item(self, g: Grant, type: str, msg_id: int, sender: int, wire: List[Any],
                   group_uid: Optional[int], discuss_key: Optional[str], to: Optional[int] = None) -> Dict[str, Any]:
        me = self.data.account.qq
        pid = me if sender == me else g.ids.to_id("person", sender)
        to_uin = me if to is None else to
        now = int(time.time())
        if type == "friend_message":
            return {"poll_type": "message", "value": {"msg_id": msg_id, "from_uin": pid, "to_uin": to_uin,
                                                       "msg_type": 0, "time": now, "content": wire}}
        if type == "group_message":
            assert group_uid is not None  # inject_message checked the group
            gid = g.ids.to_id("gid", group_uid)
            return {"poll_type": "group_message", "value": {
                "msg_id": msg_id, "from_uin": gid, "group_code": gid, "send_uin": pid, "to_uin": to_uin,
                "msg_type": 0, "time": now, "content": wire}}
        if type == "discuss_message":
            assert discuss_key is not None  # inject_message checked the discussion
            did = g.ids.to_id("did", self.data.discusses[discuss_key].serial)
            return {"poll_type": "discu_message", "value": {
                "msg_id": msg_id, "did": did, "from_uin": did, "send_uin": pid, "to_uin": to_uin,
                "msg_type": 0, "time": now, "content": wire}}
        if group_uid is not None:
            via_id, service_type = g.ids.to_id("gid", group_uid), 0
        else:
            assert discuss_key is not None  # a sess message comes through a group or a discussion
            via_id, service_type = g.ids.to_id("did", self.data.discusses[discuss_key].serial), 1
        return {"poll_type": "sess_message", "value": {
            "msg_id": msg_id, "from_uin": pid, "to_uin": to_uin, "id": via_id, "ruin": sender,
            "service_type": service_type, "msg_type": 140,
            "flags": {"text": 1, "pic": 1, "file": 1, "audio": 1, "video": 1},
            "time": now, "content": wire}}

    def record_send(self, s: Optional[Session], type: str, target: Any, text: str, msg_id: Any,
                    echo: Optional[Dict[str, Any]] = None, **extra: Any) -> Dict[str, Any]:
        """Log one accepted send (``/sandbox/sent``); echo it through poll2 if enabled."""
        rec = {"type": type, "target": target, "content": text, "time": time.time(), "msg_id": msg_id}
        rec.update(extra)
        with self._cond:
            self._sent.append(rec)
            if self.echo_sends and echo is not None and s is not None:  # OneBot sends have no echo
                self._msg_id += 1
                item = self._poll_item(s.grant, type, self._msg_id, self.data.account.qq, echo["wire"],
                                       echo.get("group_uid"), echo.get("discuss_key"), to=echo.get("to"))
                for other in self._sessions.values():
                    if other.alive:
                        other.queue.append(item)
            self._cond.notify_all()
        return rec

    @property
    def sent(self) -> List[Dict[str, Any]]:
        """What the account sent, oldest first (copies). Thread-safe."""
        with self._lock:
            return [dict(r) for r in self._sent]

    @property
    def admin_log(self) -> List[Dict[str, Any]]:
        """Mute and kick records, oldest first (copies). Thread-safe."""
        with self._lock:
            return [dict(r) for r in self._admin]

    # ---- faults and delays ------------------------------------------------------------
    def add_fault(self, endpoint: str = "poll2", count: int = 1, retcode: Optional[int] = None,
                  status: Optional[int] = None, hang: Optional[float] = None) -> Dict[str, Any]:
        """The next ``count`` answers of ``endpoint`` (a path's last segment, e.g. ``poll2``,
        ``send_qun_msg2``, ``ptqrlogin``; ``*`` = any) carry ``retcode``, or HTTP ``status``,
        or hang ``hang`` seconds first. Exactly one of the three. Thread-safe."""
        if sum(x is not None for x in (retcode, status, hang)) != 1:
            raise ValueError("give exactly one of retcode, status, hang")
        if int(count) < 1:
            raise ValueError("count must be >= 1")
        f = Fault(retcode=None if retcode is None else int(retcode), status=None if status is None else int(status),
                  hang=None if hang is None else finite("hang", hang, 0, 3600), remaining=int(count))
        with self._lock:
            self._faults.setdefault(endpoint, collections.deque()).append(f)
        return {"endpoint": endpoint, "count": f.remaining, "retcode": f.retcode, "status": f.status, "hang": f.hang}

    @property
    def faults(self) -> List[Dict[str, Any]]:
        """Pending faults, per endpoint, oldest first. Thread-safe."""
        with self._lock:
            return [{"endpoint": ep, "count": f.remaining, "retcode": f.retcode, "status": f.status, "hang": f.hang}
                    for ep, q in self._faults.items() for f in q]

    @property
    def delays(self) -> Dict[str, float]:
        with self._lock:
            return dict(self._delays)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._delays.clear()

    def take_fault(self, endpoint: str) -> Optional[Fault]:
        """Consume one fault for ``endpoint`` (specific ones before ``*``). Thread-safe."""
        with self._lock:
            for key in (endpoint, "*"):
                q = self._faults.get(key)
                if q:
                    f = q[0]
                    f.remaining -= 1
                    if f.remaining <= 0:
                        q.popleft()
                    return Fault(f.retcode, f.status, f.hang, 1)
            return None

    def set_delay(self, endpoint: str, ms: float) -> Dict[str, Any]:
        """Delay every answer of ``endpoint`` (or ``*``) by ``ms`` milliseconds; 0 removes."""
        delay = finite("ms", ms, 0, 3_600_000)
        with self._lock:
            if delay <= 0:
                self._delays.pop(endpoint, None)
            else:
                self._delays[endpoint] = delay
        return {"endpoint": endpoint, "ms": delay}

    def delay_for(self, endpoint: str) -> float:
        with self._lock:
            return self._delays.get(endpoint, self._delays.get("*", 0.0))

    # ---- reading the world under the lock ---------------------------------------------
    def read(self, fn: Callable[..., _T], *args: Any) -> _T:
        """Run ``fn(data, *args)`` under the lock (payload builders use this). Thread-safe."""
        with self._lock:
            return fn(self.data, *args)

    @property
    def grant(self) -> Optional[Grant]:
        with self._lock:
            return self._grant if self._grant is not None and self._grant.alive else None


def _qq_of_uin_cookie(uin: Optional[str]) -> Optional[int]:
    """``o0123456789`` -> 123456789 (the client's own reading, 5.6); ``None`` if malformed."""
    if not uin or len(uin) < 2 or not uin[1:].isdigit():
        return None
    return int(uin[1:])
