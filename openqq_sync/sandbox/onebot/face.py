"""OneBotFace: the world's account served over OneBot v11, as NapCat serves it.

The face observes the world (``SandboxWorld.add_observer``): every message to the account
(except discussion traffic, which OneBot has no form for) and every contact or admin change
becomes a OneBot event. A thread named ``openqq-sandbox-onebot-events`` builds each event, serializes
it once and pushes the text to every event consumer (forward WebSocket connections on ``/``
and ``/event``, the reverse WebSocket, the HTTP POST target); ``openqq-sandbox-onebot-heartbeat``
adds the heartbeats. Actions (``actions.py``) read and change the same world, so a OneBot
send shows in ``/sandbox/sent`` and a kick removes the member for SmartQQ too.

Faults (``/sandbox/onebot/...``): ``drop`` (close connections without a close frame),
``heartbeat`` (stop or resume heartbeats), ``offline``/``online`` (the account kicked while
sockets stay up), ``send_timeout`` (sends answered retcode 1200 yet sent), ``slow`` (actions
answered late). Thread-safe; ``start()`` then ``stop()`` (idempotent, joins every thread).
"""

from __future__ import annotations

import collections
import json
import logging
import queue
import threading
import time
from typing import Any, Callable, Dict, List, Optional

from . import message as msg
from .actions import ACTIONS, ActionError

log = logging.getLogger(__name__)

#: NapCat's error text for a send lost to risk control (onebot.md 1): clients match on it.
SEND_TIMEOUT = "Timeout: NTEvent serviceAndMethod:NodeIKernelMsgService/sendMsg"
MESSAGE_MEMORY = 5000  # NapCat keeps this many short message ids (onebot.md 2.2)


def envelope(data: Any, retcode: int = 0, message: str = "") -> Dict[str, Any]:
    """A OneBot action answer (without ``echo``), with NapCat's ``message``/``wording``."""
    return {"status": "ok" if retcode == 0 else "failed", "retcode": retcode, "data": data,
            "message": message, "wording": message, "stream": "normal-action"}


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def named_thread(target: Callable[[], None], name: str) -> threading.Thread:
    """A daemon thread running ``target`` that logs its start, its end and any crash."""
    def run() -> None:
        log.debug("onebot: %s started", name)
        try:
            target()
        except Exception:
            log.exception("onebot: thread %s crashed", name)
        finally:
            log.debug("onebot: %s ended", name)
    return threading.Thread(target=run, name=name, daemon=True)


class OneBotFace:
    """The OneBot v11 face of one ``SandboxWorld``.

    :param port: forward WebSocket port (``None`` = none; 0 = any free port).
    :param http_port: HTTP API port (``None`` = none).
    :param token: access token for every transport, and the HTTP POST signing secret.
    :param reverse_ws: URL the reverse WebSocket connects to (``None`` = none).
    :param post_url: URL events are POSTed to (``None`` = none).
    :param heartbeat: heartbeat interval in milliseconds (NapCat: 30000; 0 = none).
    :param reconnect: reverse WebSocket reconnect interval in milliseconds (NapCat: 5000).
    :param message_format: ``array`` (NapCat's default) or ``string`` (CQ codes).
    """

    def __init__(self, world: Any, *, host: str = "127.0.0.1", port: Optional[int] = None,
                 http_port: Optional[int] = None, token: str = "", reverse_ws: Optional[str] = None,
                 post_url: Optional[str] = None, heartbeat: float = 30000, reconnect: float = 5000,
                 message_format: str = "array") -> None:
        if message_format not in ("array", "string"):
            raise ValueError("message_format must be array or string")
        self.world = world
        self.self_id: int = world.data.account.qq
        self.host, self.port, self.http_port = host, port, http_port
        self.token = token or ""
        self.reverse_ws, self.post_url = reverse_ws, post_url
        self.heartbeat_ms, self.reconnect_ms = float(heartbeat), float(reconnect)
        self.message_format = message_format
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._consumers_lock = threading.Lock()  # held while a new consumer gets its first event
        self._online = True
        self._heartbeats = True
        self._send_timeouts = 0
        self._slow: Dict[str, float] = {}
        self._messages: "collections.OrderedDict[int, dict]" = collections.OrderedDict()
        self._consumers: List[Any] = []
        self._queue: "queue.Queue[Optional[tuple]]" = queue.Queue()
        self._threads: List[threading.Thread] = []
        self._transports: List[Any] = []
        self._started = False
        world.add_observer(self._observe)

    # ---- lifecycle --------------------------------------------------------------------
    def start(self) -> "OneBotFace":
        """Start the event threads and every configured transport; return once they listen."""
        from .transports import ForwardServer, HttpApiServer, HttpPoster, ReverseClient

        with self._lock:
            if self._started:
                raise RuntimeError("OneBot face already started")
            self._started = True
        self._thread(self._dispatch, "openqq-sandbox-onebot-events")
        if self.heartbeat_ms > 0:
            self._thread(self._beat, "openqq-sandbox-onebot-heartbeat")
        if self.port is not None:
            self._transports.append(ForwardServer(self, self.host, self.port).start())
            self.port = self._transports[-1].port
        if self.http_port is not None:
            self._transports.append(HttpApiServer(self, self.host, self.http_port).start())
            self.http_port = self._transports[-1].port
        if self.post_url:
            self._transports.append(HttpPoster(self, self.post_url).start())
        if self.reverse_ws:
            self._transports.append(ReverseClient(self, self.reverse_ws).start())
        return self

    def _thread(self, target: Any, name: str) -> None:
        t = named_thread(target, name)
        self._threads.append(t)
        t.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Close every transport and connection, end and join every thread. Idempotent."""
        if self.stopping.is_set():
            return
        self.stopping.set()
        for t in self._transports:
            t.stop(timeout)
        self._queue.put(None)
        for th in self._threads:
            th.join(timeout)
            if th.is_alive():
                log.warning("onebot: thread %s still running after %.1f s", th.name, timeout)

    # ---- consumers and events ---------------------------------------------------------
    def add_consumer(self, consumer: Any, first: Optional[str] = None) -> None:
        """Events go to ``consumer.push(text)`` from now on (it raises once the peer is gone),
        after ``first`` (the lifecycle event): an event emitted once the peer has read it reaches it."""
        # The push happens under the lock on purpose: the dispatcher cannot snapshot the
        # consumers between it and the append, so nothing is sent before ``first`` or lost after it.
        with self._consumers_lock:
            if first is not None:
                consumer.push(first)
            self._consumers.append(consumer)

    def remove_consumer(self, consumer: Any) -> None:
        with self._consumers_lock:
            if consumer in self._consumers:
                self._consumers.remove(consumer)

    @property
    def consumers(self) -> List[Any]:
        with self._consumers_lock:
            return list(self._consumers)

    def base(self, post_type: str) -> Dict[str, Any]:
        return {"time": int(time.time()), "self_id": self.self_id, "post_type": post_type}

    def lifecycle(self, sub_type: str = "connect") -> str:
        ev = self.base("meta_event")
        ev.update(meta_event_type="lifecycle", sub_type=sub_type)
        return dumps(ev)

    def emit(self, event: Dict[str, Any]) -> None:
        """Queue one event for every consumer. Thread-safe, never blocks."""
        self._queue.put(("event", event))

    def _observe(self, kind: str, facts: Dict[str, Any]) -> None:
        # Runs under the world's lock: only queue (the dispatcher builds the event).
        if not self.stopping.is_set():
            self._queue.put(("world", kind, facts, int(time.time())))

    def _dispatch(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            try:
                event = item[1] if item[0] == "event" else self._world_event(*item[1:])
                if event is not None:
                    self._push(dumps(event))
            except Exception:  # logged, the face keeps serving the next events
                log.exception("onebot: cannot emit %r", item[:2])

    def _push(self, text: str) -> None:
        for c in self.consumers:
            try:
                c.push(text)
            except Exception as e:  # the peer is gone; its transport notices and cleans up
                log.debug("onebot: dropping consumer %s: %s", c, e)
                self.remove_consumer(c)

    def _beat(self) -> None:
        while not self.stopping.wait(self.heartbeat_ms / 1000.0):
            if self._heartbeats:
                ev = self.base("meta_event")
                ev.update(meta_event_type="heartbeat", status={"online": self._online, "good": True},
                          interval=int(self.heartbeat_ms))
                self.emit(ev)

    # ---- world facts -> events --------------------------------------------------------
    def _world_event(self, kind: str, f: Dict[str, Any], when: int) -> Optional[Dict[str, Any]]:
        if kind == "message":
            return self._message_event(f, when)
        if kind == "offline":
            self._online = False
            ev = self.base("notice")
            ev.update(notice_type="bot_offline", user_id=self.self_id, tag="被下线", message=f["reason"])
            return ev
        ev = self.base("notice")
        ev["time"] = when
        ev["notice_type"] = kind
        ev.update(f)
        return ev

    def _message_event(self, f: Dict[str, Any], when: int) -> Dict[str, Any]:
        segments = msg.from_world(f["content"], f["wire"])
        who = f["sender"]
        group_id = f["group_id"]
        if f["type"] == "group_message":
            kind = "group"
            sender = {"user_id": f["user_id"], "nickname": who["nickname"], "card": who["card"], "role": who["role"]}
        else:
            kind = "private"
            sender = {"user_id": f["user_id"], "nickname": who["nickname"], "card": "", "sex": who["sex"], "age": 0}
        record = {"time": when, "message_type": kind, "message_id": f["msg_id"], "user_id": f["user_id"],
                  "group_id": group_id, "sender": sender, "segments": segments,
                  "group_name": who["group_name"]}
        self._remember(record)
        return self._event_of(record)

    def _event_of(self, r: Dict[str, Any]) -> Dict[str, Any]:
        ev = self.base("message")
        ev["time"] = r["time"]
        ev.update(message_type=r["message_type"], sub_type="", message_id=r["message_id"], user_id=r["user_id"])
        if r["message_type"] == "group":
            ev.update(sub_type="normal", group_id=r["group_id"], group_name=r["group_name"], anonymous=None)
        elif r["group_id"] is not None:
            ev.update(sub_type="group", group_id=r["group_id"], temp_source=0)
        else:
            ev.update(sub_type="friend")
        raw = msg.to_cq(r["segments"])
        ev.update(message=r["segments"] if self.message_format == "array" else raw, raw_message=raw, font=14,
                  sender=r["sender"], message_format=self.message_format, message_seq=r["message_id"],
                  real_id=r["message_id"], real_seq=str(r["message_id"]), post_type="message")
        return ev

    def _remember(self, record: Dict[str, Any]) -> None:
        with self._lock:
            self._messages[record["message_id"]] = record
            while len(self._messages) > MESSAGE_MEMORY:
                self._messages.popitem(last=False)

    # ---- actions ------------------------------------------------------------------------
    def handle(self, action: str, params: Any, http: bool = False) -> Dict[str, Any]:
        """Run one action; the answer envelope without ``echo``. Never raises."""
        fn = ACTIONS.get(action) if isinstance(action, str) else None
        if fn is None:
            return envelope(None, 1404, "不支持的API %s" % (action,))
        if not isinstance(params, dict):
            params = {}
        ms = self._slow.get(action, self._slow.get("*", 0.0))
        if ms > 0:
            self.stopping.wait(ms / 1000.0)
        try:
            return envelope(fn(self, params))
        except ActionError as e:
            return envelope(None, e.http_retcode if http else e.ws_retcode, e.message)
        except Exception as e:  # answered as NapCat answers a handler's exception
            log.exception("onebot: action %s failed", action)
            return envelope(None, 200 if http else 1200, str(e) or type(e).__name__)

    @property
    def online(self) -> bool:
        return self._online

    def send_message(self, kind: str, target: int, segments: List[dict], via_group: Optional[int] = None) -> dict:
        """Record a send of the account in the world's sent log; ``{"message_id": n}``."""
        if not self._online:
            raise ActionError(SEND_TIMEOUT)

        def check(d: Any) -> dict:
            if kind == "group":
                g = d.groups.get(target)
                if g is None or self.self_id not in g.members:
                    raise ActionError("群%s不存在" % target)
                return {"group_name": g.name}
            if target in d.friends:
                return {}
            g = d.groups.get(via_group) if via_group is not None else None
            if g is None or target not in g.members:
                raise ActionError("用户%s不是好友, 也不在群%s中" % (target, via_group))
            return {"temp": True}
        info = self.world.read(check)
        msg_id = self.world.new_msg_id()
        text = msg.to_text(segments)
        if kind == "group":
            self.world.record_send(None, "group_message", target, text, msg_id, via="onebot", segments=segments)
        elif info.get("temp"):
            self.world.record_send(None, "sess_message", target, text, msg_id, via="onebot", segments=segments,
                                   group_uid=via_group)
        else:
            self.world.record_send(None, "friend_message", target, text, msg_id, via="onebot", segments=segments)
        a = self.world.data.account
        self._remember({"time": int(time.time()), "message_type": kind, "message_id": msg_id, "user_id": a.qq,
                        "group_id": target if kind == "group" else None, "peer": target,
                        "sender": {"user_id": a.qq, "nickname": a.nick}, "segments": segments,
                        "group_name": info.get("group_name", "")})
        with self._lock:
            timeout = self._send_timeouts > 0
            if timeout:
                self._send_timeouts -= 1
        if timeout:
            raise ActionError(SEND_TIMEOUT)  # risk control: the message went out all the same
        return {"message_id": msg_id}

    def get_message(self, message_id: int) -> dict:
        with self._lock:
            r = self._messages.get(message_id)
        if r is None:
            raise ActionError("消息%s不存在" % message_id)
        ev = self._event_of(r)
        for k in ("self_id", "post_type"):
            ev.pop(k, None)
        return ev

    def recall(self, message_id: int, operator_id: Optional[int] = None) -> dict:
        """A message is recalled: ``group_recall`` / ``friend_recall`` to every consumer."""
        with self._lock:
            r = self._messages.pop(message_id, None)
        if r is None:
            raise ActionError("消息%s不存在" % message_id)
        ev = self.base("notice")
        if r["message_type"] == "group":
            ev.update(notice_type="group_recall", group_id=r["group_id"], user_id=r["user_id"],
                      operator_id=operator_id if operator_id is not None else r["user_id"], message_id=message_id)
        else:
            ev.update(notice_type="friend_recall", user_id=r.get("peer", r["user_id"]), message_id=message_id)
        self.emit(ev)
        return {"message_id": message_id, "notice_type": ev["notice_type"]}

    # ---- faults -----------------------------------------------------------------------
    def drop(self) -> dict:
        """Close every WebSocket connection without a close frame (the peer sees 1006)."""
        n = 0
        for t in self._transports:
            n += t.abort_all() if hasattr(t, "abort_all") else 0
        return {"dropped": n}

    def set_heartbeat(self, on: bool = False) -> dict:
        self._heartbeats = bool(on)
        return {"heartbeat": self._heartbeats}

    def set_online(self, online: bool, message: str = "你的帐号当前登录已失效，请重新登录") -> dict:
        """Offline: a ``bot_offline`` notice, ``get_status`` online false, sends fail; sockets stay."""
        was, self._online = self._online, bool(online)
        if was and not online:
            ev = self.base("notice")
            ev.update(notice_type="bot_offline", user_id=self.self_id, tag="被下线", message=message)
            self.emit(ev)
        return {"online": self._online}

    def add_send_timeouts(self, count: int = 1) -> dict:
        if int(count) < 1:
            raise ValueError("count must be >= 1")
        with self._lock:
            self._send_timeouts += int(count)
            return {"send_timeouts": self._send_timeouts}

    def set_slow(self, ms: float, action: str = "*") -> dict:
        if float(ms) <= 0:
            self._slow.pop(action, None)
        else:
            self._slow[action] = float(ms)
        return {"action": action, "ms": max(float(ms), 0.0)}

    def status(self) -> dict:
        with self._lock:
            return {"self_id": self.self_id, "online": self._online, "heartbeat": self._heartbeats,
                    "heartbeat_interval": int(self.heartbeat_ms), "send_timeouts": self._send_timeouts,
                    "slow": dict(self._slow), "consumers": [str(c) for c in self.consumers],
                    "ws_port": self.port, "http_port": self.http_port, "reverse_ws": self.reverse_ws,
                    "post_url": self.post_url, "message_format": self.message_format, "token": bool(self.token)}
