"""The onebot backend in a real Client against the scripted server: what the sandbox does not
do (a message delivered twice, a heartbeat-only offline, a spec server without extensions)."""

from __future__ import annotations

import pytest
from onebot_fake import FakeOneBot, ok

from helpers import eventually
from openqq_sync import signals
from openqq_sync.client import Client
from openqq_sync.config import Config

ME = 10000
FRIEND = 20001


def _serve_account(server: FakeOneBot, *, extensions: bool = True) -> None:
    h = server.handlers
    h["get_login_info"] = lambda p, f: ok({"user_id": ME, "nickname": "机器人"})
    h["get_status"] = lambda p, f: ok({"online": True, "good": True})
    h["get_friend_list"] = lambda p, f: ok([{"user_id": FRIEND, "nickname": "张三", "remark": ""}])
    h["get_group_list"] = lambda p, f: ok([])
    if extensions:
        h["get_version_info"] = lambda p, f: ok({"app_name": "FakeCat", "app_version": "1.0"})


@pytest.fixture
def client_of(tmp_path):
    made = []

    def make(server: FakeOneBot, **cfg) -> tuple:
        client = Client(Config(backend="onebot", onebot_url=server.url, tmpdir=str(tmp_path),
                               account=f"s{len(made)}", show_qrcode=False, show_message=False,
                               send_interval=0, poll_retry_max_delay=0.5, **cfg))
        got = []
        states = []

        def on_message(sender, msg, **kw):
            got.append(msg)

        def on_state(sender, old, new, **kw):
            states.append((old, new))

        signals.receive_message.connect(on_message, sender=client, weak=False)
        signals.state_change.connect(on_state, sender=client, weak=False)
        made.append((client, on_message, on_state))
        client.start()
        assert client.wait_for_state("running", 10), client.state
        return client, got, states

    yield make
    for client, on_message, on_state in made:
        client.stop()
        signals.receive_message.disconnect(on_message, sender=client)
        signals.state_change.disconnect(on_state, sender=client)


def _private(message_id, text, time=1700000000):
    return {"time": time, "self_id": ME, "post_type": "message", "message_type": "private",
            "sub_type": "friend", "message_id": message_id, "user_id": FRIEND, "message": text,
            "raw_message": text, "font": 0, "sender": {"user_id": FRIEND, "nickname": "张三"}}


def test_a_message_delivered_twice_is_reported_once(fake_onebot, client_of):
    server = fake_onebot()
    _serve_account(server, extensions=False)     # a spec server: no categories, no version
    client, got, _ = client_of(server)
    assert client.contacts.friend(FRIEND).get("category") is None
    assert client.describe()["server_app"] is None
    server.push(_private(1, "第一条"))
    server.push(_private(1, "第一条"))
    server.push(_private(2, "[CQ:face,id=14]第二条"))   # the CQ string form
    eventually(lambda: len(got) >= 2)
    # a later message as a marker: everything before it was handled
    server.push(_private(3, "第三条"))
    eventually(lambda: any(m.content == "第三条" for m in got))
    assert [m.content for m in got] == ["第一条", "[微笑]第二条", "第三条"]
    assert int(got[0].sender.get("uid")) == FRIEND


def test_heartbeat_online_false_alone_means_not_running(fake_onebot, client_of):
    server = fake_onebot()
    _serve_account(server)
    client, got, states = client_of(server)
    assert client.describe()["server_app"] == "FakeCat 1.0"
    server.handlers["get_status"] = lambda p, f: ok({"online": False, "good": True})
    server.push({"time": 1, "self_id": ME, "post_type": "meta_event", "meta_event_type": "heartbeat",
                 "status": {"online": False, "good": True}, "interval": 30000})
    assert client.wait_for_state("loading", 5)
    assert not client.describe()["account_online"]
    server.handlers["get_status"] = lambda p, f: ok({"online": True, "good": True})
    server.push({"time": 2, "self_id": ME, "post_type": "meta_event", "meta_event_type": "heartbeat",
                 "status": {"online": True, "good": True}, "interval": 30000})
    assert client.wait_for_state("running", 5)
    assert states[-3:] == [("running", "loading"), ("loading", "updating"), ("updating", "running")]


def test_another_account_behind_the_server_is_a_relogin(fake_onebot, client_of):
    server = fake_onebot()
    _serve_account(server)
    client, _, _ = client_of(server)
    assert client.user.get("id") == ME
    server.handlers["get_login_info"] = lambda p, f: ok({"user_id": 30000, "nickname": "别人"})
    for conn in list(server.conns):
        conn.close()
    eventually(lambda: client.user is not None and client.user.get("id") == 30000, timeout=10)
    assert client.wait_for_state("running", 5)


def test_a_group_renamed_is_a_group_property_change(fake_onebot, client_of):
    server = fake_onebot()
    _serve_account(server)
    names = {"name": "旧群名"}
    server.handlers["get_group_list"] = lambda p, f: ok([{"group_id": 500, "group_name": names["name"],
                                                           "max_member_count": 200}])
    server.handlers["get_group_member_list"] = lambda p, f: ok([
        {"group_id": 500, "user_id": ME, "nickname": "机器人", "card": "", "role": "admin"}])
    client, _, _ = client_of(server)
    changes = []

    def on_change(sender, obj, property, old, new, **kw):
        changes.append((obj.get("id"), property, old, new))

    signals.group_property_change.connect(on_change, sender=client, weak=False)
    try:
        assert client.contacts.group(500).get("role") == "manage"
        names["name"] = "新群名"
        server.push({"time": 1, "self_id": ME, "post_type": "notice", "notice_type": "notify",
                     "sub_type": "group_name", "group_id": 500, "user_id": 30001, "name_new": "新群名"})
        eventually(lambda: changes)
        assert changes == [(500, "name", "旧群名", "新群名")]
    finally:
        signals.group_property_change.disconnect(on_change, sender=client)


def test_own_messages_from_another_device_with_allow_message_sync(fake_onebot, client_of):
    server = fake_onebot()
    _serve_account(server)
    client, _, _ = client_of(server, allow_message_sync=True)
    sent = []

    def on_send(sender, msg, **kw):
        sent.append(msg)

    signals.send_message.connect(on_send, sender=client, weak=False)
    try:
        server.push({"time": 1, "self_id": ME, "post_type": "message_sent", "message_type": "private",
                     "sub_type": "friend", "message_id": 9, "user_id": ME, "target_id": FRIEND,
                     "message": [{"type": "text", "data": {"text": "手机上发的"}}]})
        eventually(lambda: sent)
        msg = sent[0]
        assert (msg.content, msg.info, int(msg.receiver.get("uid"))) == ("手机上发的", "来自其他设备", FRIEND)
    finally:
        signals.send_message.disconnect(on_send, sender=client)
