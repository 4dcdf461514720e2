"""The core's reaction to every poll2 outcome, driven one poll at a time (house style X1).

``PollLoop.once()`` runs on the test thread against ``responses`` (real qq.com URLs, no
routing): each test registers one poll2 answer and checks what the client did with it.
"""

import dataclasses
import json

import pytest
import responses
from client_helpers import SignalRecorder

from openqq_sync.client.poller import RELOGIN, STOP, Backoff
from stacks import DISCUSS, FRIEND, GROUP, ME, MEMBER, poll_loop, seeded_client

POLL = "http://d1.web2.qq.com/channel/poll2"
LOGIN2 = "http://d1.web2.qq.com/channel/login2"
FONT = ["font", {"name": "宋体", "size": 10, "style": [0, 0, 0], "color": "000000"}]


@pytest.fixture
def client(tmp_path):
    c = seeded_client(tmp_path, "unit")
    yield c
    c.stop()


@pytest.fixture
def rec(client):
    r = SignalRecorder(client)
    yield r
    r.close()


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as r:
        yield r


def _answer(rsps, body=None, *, status=200, raw=None):
    rsps.add(responses.POST, POLL, status=status,
             body=raw if raw is not None else json.dumps(body, ensure_ascii=False))


def _msg(poll_type, msg_id, **value):
    value.setdefault("content", [FONT, "你好 ", ["face", 14], " &lt;b&gt;"])
    value.setdefault("time", 1514880000)
    value.setdefault("to_uin", ME)
    return {"poll_type": poll_type, "value": dict(msg_id=msg_id, **value)}


def test_every_message_shape_is_received(client, rec, rsps):
    _answer(rsps, {"retcode": 0, "result": [
        _msg("message", 1, from_uin=FRIEND),
        _msg("group_message", 2, from_uin=GROUP, send_uin=MEMBER),
        _msg("discu_message", 3, did=DISCUSS, send_uin=MEMBER),
        _msg("sess_message", 4, from_uin=MEMBER, id=GROUP, service_type=0),
        _msg("sess_message", 5, from_uin=MEMBER, id=DISCUSS, service_type=1),
        _msg("sess_message", 6, from_uin=MEMBER, id=DISCUSS, service_type=7),   # dropped
        {"poll_type": "input_notify", "value": {}},                               # ignored
    ]})
    assert poll_loop(client).once() is None
    msgs = [kw["msg"] for kw in rec.of("receive_message")]
    assert [m.type for m in msgs] == ["friend_message", "group_message", "discuss_message",
                                      "sess_message", "sess_message"]
    assert {m.content for m in msgs} == {"你好 [微笑] <b>"}
    friend, group, discuss, sess_g, sess_d = msgs
    assert friend.sender.name == "张三" and friend.receiver is client.user
    assert group.group.name == "群<&>" and group.sender.name == "成员"
    assert group.to_json()["group_uid"] == 2021 and group.to_json()["sender_uid"] == 3031
    assert discuss.discuss.name == "讨论" and discuss.sender.name == "讨论成员"
    assert sess_g.via == "group" and sess_g.group_id == GROUP and sess_g.sender.name == "成员"
    assert sess_d.via == "discuss" and sess_d.discuss_id == DISCUSS
    assert client.state == "running"


def test_duplicates_and_own_messages_are_dropped(client, rec, rsps):
    batch = {"retcode": 0, "result": [_msg("message", 7, from_uin=FRIEND),
                                      _msg("message", 8, from_uin=ME, to_uin=FRIEND),
                                      _msg("group_message", 9, from_uin=GROUP, send_uin=ME)]}
    _answer(rsps, batch)
    _answer(rsps, batch)
    loop = poll_loop(client)
    assert loop.once() is None and loop.once() is None
    assert [kw["msg"].id for kw in rec.of("receive_message")] == [7]
    assert rec.of("send_message") == []


def test_own_messages_synced_when_allowed(client, rec, rsps):
    client._rt.config = client.config = dataclasses.replace(client.config, allow_message_sync=True)
    _answer(rsps, {"retcode": 0, "result": [_msg("group_message", 9, from_uin=GROUP, send_uin=ME)]})
    poll_loop(client).once()
    (kw,) = rec.of("send_message")
    assert kw["msg"].sender.name == "我" and kw["msg"].info == "来自其他设备"


def test_unknown_sender_dropped_or_placeholder(client, rec, rsps):
    _answer(rsps, {"retcode": 0, "result": [_msg("message", 10, from_uin=777)]})
    poll_loop(client).once()      # the friend reload fails (no such route): dropped
    assert rec.of("receive_message") == [] and client.contacts.friend(777) is None
    client._rt.config = client.config = dataclasses.replace(client.config, ignore_unknown_id=False)
    client._receiver._last_reload.clear()
    _answer(rsps, {"retcode": 0, "result": [_msg("message", 11, from_uin=777),
                                            _msg("group_message", 12, from_uin=GROUP, send_uin=778),
                                            _msg("group_message", 13, from_uin=999, send_uin=MEMBER)]})
    poll_loop(client).once()
    msgs = [kw["msg"] for kw in rec.of("receive_message")]
    assert [(m.id, m.sender.name) for m in msgs] == [(11, "昵称未知"), (12, "昵称未知")]
    assert client.contacts.friend(777).category == "陌生人"


def test_presence_change_does_not_cost_the_batch(client, rec, rsps):
    _answer(rsps, {"retcode": 0, "result": [
        {"poll_type": "buddies_status_change", "value": {"uin": FRIEND, "status": "online", "client_type": 1}},
        _msg("message", 14, from_uin=FRIEND)]})
    poll_loop(client).once()
    props = {(kw["property"], kw["new"]) for kw in rec.of("friend_property_change")}
    assert props == {("state", "online"), ("client_type", "pc")}
    assert [kw["msg"].id for kw in rec.of("receive_message")] == [14]


def test_kick_message_stops_with_the_reason(client, rec, rsps):
    _answer(rsps, {"retcode": 0, "result": [
        {"poll_type": "kick_message", "value": {"show_reason": 1, "reason": "您的帐号在另一地点登录"}}]})
    assert poll_loop(client).once() == STOP
    assert "另一地点" in client.error


def test_retcode_116_takes_the_new_ptwebqq(client, rsps):
    _answer(rsps, {"retcode": 116, "p": "newptwebqq"})
    assert poll_loop(client).once() is None
    assert client.backend._creds.ptwebqq == "newptwebqq"
    assert client.backend.transport.cookie("ptwebqq") == "newptwebqq"


@pytest.mark.parametrize("code", [100, 103, 100000])
def test_login_expired_retcodes_relogin(client, rsps, code):
    _answer(rsps, {"retcode": code})
    assert poll_loop(client).once() == RELOGIN


@pytest.mark.parametrize("code", [120, 121])
def test_relink_retcodes(client, rsps, code):
    _answer(rsps, {"retcode": code})
    rsps.add(responses.POST, LOGIN2, json={"retcode": 0, "result": {"psessionid": "s2", "uin": 9999}})
    assert poll_loop(client).once() is None
    assert client.backend._creds.psessionid == "s2"
    _answer(rsps, {"retcode": code})
    rsps.replace(responses.POST, LOGIN2, json={"retcode": 103})
    assert poll_loop(client).once() == RELOGIN


def test_ignored_and_unknown_retcodes(client, rsps):
    loop = poll_loop(client)
    for code in (102, 109, 110, 1202, 100012):
        _answer(rsps, {"retcode": code})
        assert loop.once() is None
    for _ in range(3):
        _answer(rsps, {"retcode": 100001})
        assert loop.once() is None
    _answer(rsps, {"retcode": 0, "result": []})   # a success resets the count
    assert loop.once() is None
    for _ in range(3):
        _answer(rsps, {"retcode": 100001})
        assert loop.once() is None
    _answer(rsps, {"retcode": 100001})
    assert loop.once() == RELOGIN


@pytest.mark.parametrize("status, raw", [(502, ""), (504, ""), (500, ""), (200, "not json")])
def test_http_failures_back_off_and_continue(client, rsps, status, raw):
    loop = poll_loop(client)
    _answer(rsps, status=status, raw=raw)
    assert loop.once() is None
    assert loop.backoff.failures == 1
    _answer(rsps, {"retcode": 0})
    assert loop.once() is None and loop.backoff.failures == 0


def test_stop_and_relogin_flags_end_the_loop(client):
    loop = poll_loop(client)
    client._rt.relogin.set()
    assert loop.once() == RELOGIN
    client.stop()
    assert loop.once() == STOP


def test_backoff_grows_to_the_cap_with_jitter():
    b = Backoff(base=1.0, cap=8.0, rand=lambda: 0.0)
    assert [b.next() for _ in range(6)] == [1, 2, 4, 8, 8, 8]
    b.reset()
    assert b.next() == 1
    assert Backoff(base=1.0, cap=8.0, rand=lambda: 1.0).next() == pytest.approx(0.8)


def test_a_raising_receiver_does_not_break_the_loop_nor_the_others(client, rec, rsps):
    from openqq_sync import signals

    def broken(sender, **kw):
        raise RuntimeError("receiver bug")

    signals.receive_message.connect(broken, sender=client, weak=False)
    try:
        _answer(rsps, {"retcode": 0, "result": [_msg("message", 21, from_uin=FRIEND),
                                                _msg("message", 22, from_uin=FRIEND)]})
        assert poll_loop(client).once() is None
    finally:
        signals.receive_message.disconnect(broken, sender=client)
    assert [kw["msg"].id for kw in rec.of("receive_message")] == [21, 22]
