"""The client core through the backend seam, with no SmartQQ at all.

``MemoryBackend`` is a complete backend over an in-memory account (what a OneBot backend
would be over a WebSocket): registered under a name and chosen by ``Config(backend=...)``.
Every test runs the real Client, Runtime and worker threads; what is asserted is the core's
behaviour the seam promises: login and states, contact load on named member workers,
receive, the send queue's retries and finality, the relogin policy, kick and stop.
"""

from __future__ import annotations

import gc
import queue
import threading
from typing import Any, Dict, List, Optional, Sequence, Tuple

import pytest
from client_helpers import SignalRecorder

from openqq_sync import Client, Config, backends
from openqq_sync.backends import (Capabilities, Event, KickedEvent, LoginResult, MessageEvent,
                                  PresenceEvent, SendResult)
from openqq_sync.client.contacts import ContactStore
from openqq_sync.errors import AbortedError, LoginExpired
from openqq_sync.model import Discuss, Group, GroupMember, Message

ME, FRIEND, GROUP = 10001, 10002, 20001


class MemoryBackend:
    """An account held in memory; ``inbox`` feeds ``receive``, ``sends`` scripts answers."""

    name = "memory"
    capabilities = Capabilities(discuss=False, qr_login=False, sess=True, group_admin=True)

    def __init__(self, config: Config) -> None:
        self.config = config
        self.inbox: "queue.Queue[Any]" = queue.Queue()
        self.answers: "queue.Queue[SendResult]" = queue.Queue()
        self.sent: List[Tuple[str, Any, str]] = []
        self.calls: List[str] = []
        self.member_threads: List[str] = []
        self.ended_threads: List[str] = []
        self.gc_enabled_during_load: List[bool] = []
        self.groups = [{"id": GROUP + n, "uid": GROUP + n, "code": GROUP + n, "name": f"群{n}", "role": "manage"}
                       for n in range(6)]
        self._lock = threading.Lock()

    # -- session
    def restore(self) -> bool:
        return False

    def save(self) -> None:
        pass

    def login(self, host: Any) -> LoginResult:
        self.calls.append("login")
        return LoginResult(is_scan=0)

    def logout(self) -> None:
        self.calls.append("logout")

    def forget(self) -> None:
        self.calls.append("forget")

    def close(self) -> None:
        self.calls.append("close")

    def abort(self) -> None:
        self.inbox.put(AbortedError())

    def end_thread(self) -> None:
        with self._lock:
            self.ended_threads.append(threading.current_thread().name)

    def describe(self) -> Dict[str, Any]:
        return {"backend": self.name}

    # -- contacts
    def load_user(self, store: ContactStore) -> None:
        store.set_user({"id": ME, "uid": ME, "name": "我"})

    def load_friends(self, store: ContactStore) -> Optional[List[Any]]:
        return store.merge_friends([{"id": FRIEND, "uid": FRIEND, "name": "张三", "markname": None}])

    def load_groups(self, store: ContactStore) -> Optional[Tuple[List[Any], List[Group]]]:
        return store.merge_groups(self.groups)

    def load_discusses(self, store: ContactStore) -> Optional[Tuple[List[Any], List[Discuss]]]:
        raise AssertionError("a backend without discussions is never asked for them")

    def load_group_members(self, store: ContactStore, group: Group, *, ext: str = "always") -> List[Any]:
        with self._lock:
            self.member_threads.append(threading.current_thread().name)
            self.gc_enabled_during_load.append(gc.isenabled())
        gid = group.get("id")
        return store.merge_group_detail(group, None, [
            {"id": ME, "uid": ME, "name": "我", "role": "admin"},
            {"id": gid + 1000, "uid": gid + 1000, "name": "成员", "role": "member"}], owned=True)

    def load_discuss_members(self, store: ContactStore, discuss: Discuss) -> List[Any]:
        return []

    # -- receiving
    def receive(self) -> Sequence[Event]:
        item = self.inbox.get(timeout=10)
        if isinstance(item, BaseException):
            raise item
        return item

    def interrupt_receive(self) -> None:
        self.inbox.put(AbortedError())

    # -- sending and admin
    def send(self, msg: Message) -> SendResult:
        self.sent.append((msg.type, msg.receiver_id or msg.group_id, msg.content))
        try:
            return self.answers.get_nowait()
        except queue.Empty:
            return SendResult(0, "发送成功", "发送正常")

    def shutup(self, group: Group, members: Sequence[Tuple[GroupMember, int]]) -> bool:
        self.calls.append("shutup")
        return True

    def kick(self, group: Group, members: Sequence[GroupMember]) -> bool:
        self.calls.append("kick")
        return True


made: List[MemoryBackend] = []


def _factory(config: Config) -> MemoryBackend:
    backend = MemoryBackend(config)
    made.append(backend)
    return backend


backends.register("memory", _factory)


@pytest.fixture
def live(tmp_path):
    made.clear()
    client = Client(Config(backend="memory", account="seam", tmpdir=str(tmp_path), send_interval=0,
                           member_fetch_workers=3, poll_retry_max_delay=0.05, send_failure_count_max=2))
    rec = SignalRecorder(client)
    client.start()
    try:
        assert client.wait_for_state("running", 10), client.error
        yield client, made[0], rec
    finally:
        client.stop()
        rec.close()
        assert client.join(5)


def test_an_unknown_backend_is_refused_when_the_config_is_built():
    with pytest.raises(ValueError, match="unknown backend 'nope'"):
        Config(backend="nope")
    assert {"smartqq", "memory"} <= set(backends.names())


def test_login_and_load_through_the_seam(live):
    client, backend, rec = live
    assert rec.of("login") == [{"is_scan": 0}]
    assert [kw["new"] for kw in rec.of("state_change")] == ["loading", "updating", "running"]
    assert client.describe() == {"backend": "memory"}
    assert client.contacts.friend(FRIEND).name == "张三" and client.contacts.discusses() == []
    # Every group's members, on named member workers that closed their connections.
    assert all(len(g.members) == 2 for g in client.contacts.groups())
    assert len(backend.member_threads) == 6
    workers = [f"openqq-seam-members_{n}" for n in range(3)]
    assert set(backend.member_threads) <= set(workers) and sorted(backend.ended_threads) == workers
    assert [t for t in threading.enumerate() if "members_" in t.name] == []
    # The load leaves the process's garbage collector alone.
    assert backend.gc_enabled_during_load == [True] * 6 and gc.isenabled()


def test_events_become_signals(live):
    client, backend, rec = live
    backend.inbox.put([MessageEvent({"type": "friend_message", "id": 1, "sender_id": FRIEND,
                                     "receiver_id": ME, "time": 1, "content": "你好",
                                     "raw_content": [{"type": "txt", "content": "你好"}]}),
                       PresenceEvent(FRIEND, "online", "pc")])
    msg = rec.wait("receive_message")["msg"]
    assert (msg.sender.name, msg.content, msg.type) == ("张三", "你好", "friend_message")
    rec.wait("friend_property_change", lambda kw: kw["property"] == "state" and kw["new"] == "online")


def test_a_send_is_retried_until_its_ttl_and_a_final_answer_is_not(live):
    client, backend, rec = live
    friend = client.contacts.friend(FRIEND)
    for _ in range(2):
        backend.answers.put(SendResult(-1, "发送失败", "数据格式错误"))
    msg = client.send_friend_message(friend, "重试").wait(5)
    assert (msg.code, msg.info) == (0, "发送正常") and len(backend.sent) == 3
    backend.answers.put(SendResult(1200, "发送失败", "timeout", final=True))
    msg = client.send_friend_message(friend, "一次").wait(5)
    assert msg.code == 1200 and len(backend.sent) == 4          # not resent
    for _ in range(3):
        backend.answers.put(SendResult(-1, "发送失败", "数据格式错误"))
    msg = client.send_friend_message(friend, "用尽").wait(5)
    assert (msg.code, msg.info) == (-1, "数据格式错误") and len(backend.sent) == 7   # msg_ttl 3
    assert [kw["msg"].code for kw in rec.of("send_message")] == [0, 1200, -1]


def test_suspect_send_failures_relogin_without_logout(live):
    client, backend, rec = live
    friend = client.contacts.friend(FRIEND)
    for _ in range(2):
        backend.answers.put(SendResult(-3, "发送失败", "会话失效", final=True, session_suspect=True))
        client.send_friend_message(friend, "x").wait(5)
    rec.wait("relogin")
    assert backend.calls.count("login") == 2 and "logout" not in backend.calls and "forget" in backend.calls
    assert client.wait_for_state("running", 5)


def test_a_lost_session_relogs_in(live):
    client, backend, rec = live
    backend.inbox.put(LoginExpired(None, message="gone"))
    rec.wait("relogin")
    assert backend.calls.count("login") == 2


def test_kicked_stops_the_client_for_good(live):
    client, backend, rec = live
    backend.inbox.put([KickedEvent("您已被迫下线")])
    rec.wait("stop")
    assert client.state == "stop" and client.error == "kicked: 您已被迫下线"
    assert backend.calls.count("login") == 1 and "close" in backend.calls


def test_group_admin_goes_through_the_backend(live):
    client, backend, rec = live
    group = client.contacts.groups()[0]
    member = next(m for m in group.members if m.get("id") != ME)
    assert client.shutup_group_member(group, [member], 60) is True
    assert client.kick_group_member(group, [member]) is True
    assert backend.calls[-2:] == ["shutup", "kick"]
    assert rec.wait("lose_group_member")["member"] is member
