"""Events leaving the client over loopback: post_api (fields, default events, reply, shutup),
check_event (at once, wake-up, size limit, cursor) and the poll_api heartbeat redirect."""

from __future__ import annotations

import threading

import pytest
import requests

from openqq_sync.delivery import Heartbeat
from stacks import LiveStack, eventually, json_answer

MESSAGE_KEYS = {"type", "class", "id", "sender_id", "receiver_id", "time", "content", "sender",
                "sender_uid", "receiver", "receiver_uid", "post_type", "seq"}


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    stack = LiveStack(str(tmp_path_factory.mktemp("events")), check_event_timeout=10)
    try:
        yield stack
    finally:
        stack.close()


@pytest.fixture
def quiet(live):
    """Each test starts with an empty check_event buffer and a plain post_api answer."""
    live.answer = lambda req: (200, {"Content-Type": "text/plain"}, b"ok")
    live.delivery.buffer.take(0)
    yield live
    live.answer = lambda req: (200, {"Content-Type": "text/plain"}, b"ok")


def _friend(live):
    names = [f["name"] for f in live.world["friends"]]
    return next(f for f in live.world["friends"] if names.count(f["name"]) == 1 and f["uid"])


def _wait_post(live, content, post_type="receive_message"):
    return eventually(lambda: [p for p in live.posts(post_type) if p.get("content") == content])[0]


def test_login_events_reach_post_api(live):
    login = eventually(lambda: live.posts("event", "login"))
    assert login[0]["params"] == [1] and isinstance(login[0]["seq"], int)
    eventually(lambda: ["updating", "running"] in [p["params"] for p in live.posts("event", "state_change")])
    changes = [p["params"] for p in live.posts("event", "state_change")]
    assert changes[0] == ["init", "loading"] and changes[-1] == ["updating", "running"]
    assert all(a[1] == b[0] for a, b in zip(changes, changes[1:]))      # one unbroken chain
    qr = live.posts("event", "input_qrcode")[0]
    path, data = qr["params"]
    assert path == live.config.qrcode_path
    assert data.endswith("\n") and all(len(line) <= 76 for line in data.splitlines())
    # Not reported by default (post_event_list): property changes.
    assert not live.posts("event", "friend_property_change")
    seqs = [p["seq"] for p in live.posts()]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_received_friend_message_is_posted_with_exact_fields(quiet):
    live = quiet
    f = _friend(live)
    live.sandbox.world.inject_message("friend_message", f["uid"], "你好 post_api")
    post = _wait_post(live, "你好 post_api")
    assert set(post) == MESSAGE_KEYS
    assert post["type"] == "friend_message" and post["class"] == "recv"
    assert post["sender_id"] == f["id"] and post["sender_uid"] == f["uid"] and post["sender"] == f["name"]
    assert post["receiver_uid"] == live.world["account"]["uid"]
    assert post["receiver"] == live.world["account"]["name"]


def test_received_group_message_has_group_fields(quiet):
    live = quiet
    g = live.world["groups"][1]
    m = next(x for x in g["members"] if x["uid"] != live.world["account"]["uid"])
    live.sandbox.world.inject_message("group_message", m["uid"], "群里说话", group_uid=g["uid"])
    post = _wait_post(live, "群里说话")
    assert set(post) >= MESSAGE_KEYS | {"group", "group_id", "group_uid"}
    assert post["group_uid"] == g["uid"] and post["group_id"] == g["id"] and post["group"] == g["name"]
    assert post["sender_id"] == m["id"]


def test_sent_message_is_posted(quiet):
    live = quiet
    f = _friend(live)
    answer = live.get("/openqq/send_friend_message", uid=f["uid"], content="发出去的")
    post = _wait_post(live, "发出去的", "send_message")
    assert set(post) == {"type", "class", "id", "sender_id", "receiver_id", "sender", "sender_uid", "receiver",
                         "receiver_uid", "content", "from", "ttl", "source", "time", "code", "msg", "info",
                         "post_type", "seq"}
    assert post["class"] == "send" and post["id"] == answer["id"] and post["source"] == "local"
    assert post["code"] == 0 and post["msg"] == "发送成功" and post["from"] == "api"
    assert post["receiver_uid"] == f["uid"]


def test_reply_answer_replies_once_and_sent_posts_never_loop(quiet):
    live = quiet
    live.answer = lambda req: json_answer({"reply": "自动回复", "code": 0})
    f = _friend(live)
    live.sandbox.world.inject_message("friend_message", f["uid"], "请回复")
    sent = eventually(lambda: [s for s in live.sandbox.world.sent if s["content"] == "自动回复"])
    assert sent[0]["target"] == f["uid"] and sent[0]["type"] == "friend_message"
    # The reply's own send_message post was answered with a reply too: not acted on.
    _wait_post(live, "自动回复", "send_message")
    live.get("/openqq/send_friend_message", uid=f["uid"], content="barrier")
    _wait_post(live, "barrier", "send_message")
    assert len([s for s in live.sandbox.world.sent if s["content"] == "自动回复"]) == 1


def test_shutup_answer_mutes_the_sender_of_a_group_message(quiet):
    live = quiet
    live.answer = lambda req: json_answer({"reply": "请安静", "shutup": 1, "shutup_time": 90})
    g = next(x for x in live.world["groups"] if x["role"] == "manage")
    m = next(x for x in g["members"] if x["role"] == "member" and x["uid"] != live.world["account"]["uid"])
    live.sandbox.world.inject_message("group_message", m["uid"], "刷屏", group_uid=g["uid"])
    rec = eventually(lambda: [r for r in live.sandbox.world.admin_log if r["action"] == "shutup"])[-1]
    assert rec["member_uid"] == m["uid"] and rec["group_uid"] == g["uid"] and rec["seconds"] == 90
    sent = eventually(lambda: [s for s in live.sandbox.world.sent if s["content"] == "请安静"])
    assert sent[0]["target"] == g["uid"]
    _wait_post(live, "请安静", "send_message")     # reported before the next test drains


def test_check_event_returns_at_once_when_buffered(quiet):
    live = quiet
    f = _friend(live)
    live.sandbox.world.inject_message("friend_message", f["uid"], "缓冲 1")
    live.sandbox.world.inject_message("friend_message", f["uid"], "缓冲 2")
    _wait_post(live, "缓冲 2")
    # The server would hold an empty call for 10 s; the client gives up after 5.
    items = requests.get(live.url + "/openqq/check_event", timeout=5).json()
    assert [i["content"] for i in items] == ["缓冲 1", "缓冲 2"]
    assert all(i["post_type"] == "receive_message" and "seq" in i for i in items)


def test_check_event_wakes_a_waiter_with_the_new_item(quiet):
    live = quiet
    f = _friend(live)
    got = []
    t = threading.Thread(target=lambda: got.append(
        requests.post(live.url + "/openqq/check_event", timeout=9).json()))
    t.start()
    eventually(lambda: live.held_polls() == 1)
    live.sandbox.world.inject_message("friend_message", f["uid"], "醒醒")
    t.join(9)
    assert len(got) == 1 and len(got[0]) == 1
    assert got[0][0]["content"] == "醒醒"


def test_several_waiters_each_get_a_real_answer(quiet):
    live = quiet
    f = _friend(live)
    got = []
    lock = threading.Lock()

    def wait():
        r = requests.get(live.url + "/openqq/check_event", timeout=15).json()
        with lock:
            got.append(r)

    threads = [threading.Thread(target=wait) for _ in range(3)]
    for t in threads:
        t.start()
    eventually(lambda: live.held_polls() == 3)
    for n in range(3):
        live.sandbox.world.inject_message("friend_message", f["uid"], f"分给 {n}")
    for t in threads:
        t.join(15)
    assert sorted(len(r) for r in got) == [1, 1, 1]
    assert sorted(r[0]["content"] for r in got) == ["分给 0", "分给 1", "分给 2"]


def test_check_event_honours_the_size_limit(quiet):
    live = quiet
    f = _friend(live)
    for n in range(25):
        live.sandbox.world.inject_message("friend_message", f["uid"], f"第 {n} 条")
    _wait_post(live, "第 24 条")
    items = live.get("/openqq/check_event")
    assert [i["content"] for i in items] == [f"第 {n} 条" for n in range(5, 25)]


def test_since_cursor_is_lossless_for_several_consumers(quiet):
    live = quiet
    f = _friend(live)
    start = live.delivery.buffer.last_seq
    for n in range(3):
        live.sandbox.world.inject_message("friend_message", f["uid"], f"游标 {n}")
    _wait_post(live, "游标 2")
    first = live.get("/openqq/check_event", since=start)
    second = live.get("/openqq/check_event", since=start)      # nothing was removed
    assert [i["content"] for i in first] == [i["content"] for i in second] == [f"游标 {n}" for n in range(3)]
    assert live.get("/openqq/check_event", since=first[0]["seq"])[0]["content"] == "游标 1"
    # A cursor reader waits for the next item like a plain one.
    got = []
    t = threading.Thread(target=lambda: got.append(live.get("/openqq/check_event", since=first[-1]["seq"])))
    t.start()
    eventually(lambda: live.held_polls() == 1)
    live.sandbox.world.inject_message("friend_message", f["uid"], "游标 新")
    t.join(9)
    assert [i["content"] for i in got[0]] == ["游标 新"]


def test_poll_api_redirect_makes_a_send(quiet):
    from stacks import Receiver
    live = quiet
    f = _friend(live)
    host, port = live.server.address
    location = f"http://127.0.0.1:{port}/openqq/send_friend_message?uid={f['uid']}&content=%E5%BF%83%E8%B7%B3"
    answers = iter([(302, {"Location": location}, b"")])
    with Receiver(lambda req: next(answers, (200, {}, b""))) as remote:
        hb = Heartbeat(live.client, remote.url, own_address=lambda: live.server.address, interval=0.01,
                       account="test")
        hb.start()
        try:
            sent = eventually(lambda: [s for s in live.sandbox.world.sent if s["content"] == "心跳"])
        finally:
            hb.stop()
    assert sent[0]["target"] == f["uid"] and len(sent) == 1
