"""Receiving and sending against the sandbox: every type, exact content, the signals."""

import pytest

TEXT = "你好 [微笑] <&> 🐧 \"'"


def _account(sandbox):
    return sandbox.world.snapshot(members=False)["account"]["uid"]


def _group_and_member(sandbox):
    world = sandbox.world.snapshot()
    me = world["account"]["uid"]
    for g in world["groups"]:
        others = [m for m in g["members"] if m["uid"] != me]
        if others:
            return g, others[0]
    raise AssertionError("no group with another member")


def _discuss_and_member(sandbox):
    world = sandbox.world.snapshot()
    me = world["account"]["uid"]
    for d in world["discusses"]:
        others = [m for m in d["members"] if m["uid"] != me]
        if others:
            return d, others[0]
    raise AssertionError("no discussion with another member")


def _received(rec, marker):
    return rec.wait("receive_message", lambda kw: marker in kw["msg"].content)["msg"]


def test_friend_message_arrives(running_client, sandbox):
    client, rec = running_client
    wf = sandbox.world.snapshot(members=False)["friends"][0]
    sandbox.world.inject_message("friend_message", wf["uid"], TEXT + " f1")
    msg = _received(rec, "f1")
    assert msg.type == "friend_message" and msg.class_ == "recv"
    assert msg.content == TEXT + " f1"
    assert msg.sender is client.contacts.friend(wf["id"]) and msg.receiver is client.user
    faces = [s for s in msg.raw_content if s["type"] == "face"]
    assert faces == [{"type": "face", "id": 14, "content": "[微笑]"}]
    j = msg.to_json()
    assert j["sender_id"] == wf["id"] and j["receiver_uid"] == _account(sandbox)
    assert j["sender"] == (wf["markname"] or wf["name"])
    assert msg.reply is not None


def test_group_message_arrives(running_client, sandbox):
    client, rec = running_client
    g, m = _group_and_member(sandbox)
    sandbox.world.inject_message("group_message", m["uid"], TEXT + " g1", group_uid=g["uid"])
    msg = _received(rec, "g1")
    assert msg.type == "group_message" and msg.content == TEXT + " g1"
    assert msg.group.uid == g["uid"] and msg.group_id == g["id"]
    assert msg.sender.id == m["id"] and msg.sender.group is msg.group
    j = msg.to_json()
    assert j["group"] == (g["markname"] or g["name"]) and j["group_uid"] == g["uid"]
    assert j["receiver_uid"] == _account(sandbox)


def test_discuss_message_arrives(running_client, sandbox):
    client, rec = running_client
    d, m = _discuss_and_member(sandbox)
    sandbox.world.inject_message("discuss_message", m["uid"], TEXT + " d1", discuss_key=d["key"])
    msg = _received(rec, "d1")
    assert msg.type == "discuss_message" and msg.discuss.id == d["id"]
    assert msg.sender.uid == m["uid"] and msg.sender.name == m["name"]
    assert msg.to_json()["discuss"] == d["name"] and "discuss_uid" not in msg.to_json()


def test_sess_messages_arrive_via_group_and_discussion(running_client, sandbox):
    client, rec = running_client
    g, gm = _group_and_member(sandbox)
    d, dm = _discuss_and_member(sandbox)
    sandbox.world.inject_message("sess_message", gm["uid"], "临时 s1", group_uid=g["uid"])
    sandbox.world.inject_message("sess_message", dm["uid"], "临时 s2", discuss_key=d["key"])
    via_group = _received(rec, "s1")
    via_discuss = _received(rec, "s2")
    assert (via_group.via, via_group.group.uid, via_group.sender.id) == ("group", g["uid"], gm["id"])
    assert (via_discuss.via, via_discuss.discuss.id, via_discuss.sender.uid) == ("discuss", d["id"], dm["uid"])
    assert via_group.to_json()["group_uid"] == g["uid"]


def test_own_echo_is_dropped(running_client, sandbox):
    client, rec = running_client
    wf = sandbox.world.snapshot(members=False)["friends"][0]
    sandbox.world.inject_message("friend_message", _account(sandbox), "echo e1")
    sandbox.world.inject_message("friend_message", wf["uid"], "after e2")
    _received(rec, "e2")
    assert [kw["msg"].content for kw in rec.of("receive_message")] == ["after e2"]
    assert rec.of("send_message") == []


def test_own_echo_is_synced_with_allow_message_sync(sandbox, make_client):
    client, rec = make_client(sandbox.url, allow_message_sync=True)
    assert client.wait_for_state("running", 20), client.error
    sandbox.world.inject_message("friend_message", _account(sandbox), "echo e3")
    msg = rec.wait("send_message")["msg"]
    assert (msg.class_, msg.source, msg.code, msg.info) == ("send", "outer", 0, "来自其他设备")


def _sent(sandbox, marker):
    found = [s for s in sandbox.world.sent if marker in s["content"]]
    assert len(found) == 1, sandbox.world.sent
    return found[0]


def test_sends_of_every_type_reach_the_sandbox(running_client, sandbox):
    client, rec = running_client
    store = client.contacts
    world = sandbox.world.snapshot()
    wf = world["friends"][0]
    g, gm = _group_and_member(sandbox)
    d, dm = _discuss_and_member(sandbox)
    friend = store.friend(wf["id"])
    group = store.group(g["id"])
    discuss = store.discuss(d["id"])
    handles = [
        client.send_friend_message(friend, TEXT + " S1"),
        client.send_group_message(group, TEXT + " S2"),
        client.send_discuss_message(discuss, TEXT + " S3"),
        client.send_sess_message(group.member(gm["id"]), TEXT + " S4"),
        client.send_sess_message(discuss.member(dm["id"]), TEXT + " S5"),
    ]
    results = [h.wait(10) for h in handles]
    assert [(m.code, m.msg, m.info) for m in results] == [(0, "发送成功", "发送正常")] * 5
    # The default replaces < and > by their full-width forms (8.2); the rest is exact.
    sent_text = TEXT.replace("<", "＜").replace(">", "＞")
    assert _sent(sandbox, "S1")["content"] == sent_text + " S1"
    assert _sent(sandbox, "S1")["target"] == wf["uid"] and _sent(sandbox, "S1")["type"] == "friend_message"
    assert _sent(sandbox, "S2")["target"] == g["uid"]
    assert _sent(sandbox, "S3")["target"] == d["key"]
    s4, s5 = _sent(sandbox, "S4"), _sent(sandbox, "S5")
    assert (s4["type"], s4["target"], s4["via"], s4["group_uid"]) == ("sess_message", gm["uid"], "group", g["uid"])
    assert (s5["target"], s5["via"], s5["discuss_key"]) == (dm["uid"], "discuss", d["key"])
    signalled = {kw["msg"].id for kw in rec.of("send_message")}
    assert signalled == {m.id for m in results}
    ids = [m.id for m in results]
    assert ids == sorted(ids) and len(set(ids)) == 5
    j = results[0].to_json()
    assert (j["from"], j["source"], j["receiver"], j["code"]) == ("code", "local", friend.displayname, 0)
    assert j["content"] == sent_text + " S1"


def test_send_real_comp_sign_keeps_angle_brackets(sandbox, make_client):
    client, _ = make_client(sandbox.url, default_send_real_comp_sign=True)
    assert client.wait_for_state("running", 20), client.error
    friend = client.contacts.friends()[0]
    assert client.send_friend_message(friend, TEXT + " R1").wait(10).code == 0
    assert _sent(sandbox, "R1")["content"] == TEXT + " R1"


def test_reply_goes_back_to_the_group(running_client, sandbox):
    client, rec = running_client
    g, m = _group_and_member(sandbox)
    sandbox.world.inject_message("group_message", m["uid"], "问 q1", group_uid=g["uid"])
    msg = _received(rec, "q1")
    assert msg.reply("答 [微笑]").wait(10).code == 0
    assert _sent(sandbox, "答")["target"] == g["uid"]


def test_send_retries_then_reports_the_last_failure(running_client, sandbox):
    client, _ = running_client
    friend = client.contacts.friends()[0]
    sandbox.world.add_fault("send_buddy_msg2", count=1, status=500)
    assert client.send_friend_message(friend, "retry T1").wait(10).code == 0
    assert _sent(sandbox, "T1")
    sandbox.world.add_fault("send_buddy_msg2", count=3, status=500)
    failed = client.send_friend_message(friend, "fail T2").wait(10)
    assert (failed.code, failed.msg, failed.info, failed.ttl) == (-1, "发送失败", "数据格式错误", 0)
    assert not [s for s in sandbox.world.sent if "T2" in s["content"]]


def test_send_refusals(running_client):
    client, _ = running_client
    friend = client.contacts.friends()[0]
    with pytest.raises(ValueError):
        client.send_friend_message(friend, "")
    with pytest.raises(TypeError):
        client.send_sess_message(friend, "x")


def test_showmsg_logs_received_and_sent_lines(running_client, sandbox, caplog):
    from openqq_sync.terminal import ShowMsg

    client, rec = running_client
    show = ShowMsg(client).attach()
    try:
        with caplog.at_level("INFO", logger="openqq_sync.showmsg"):
            g, m = _group_and_member(sandbox)
            sandbox.world.inject_message("group_message", m["uid"], "日志 L1", group_uid=g["uid"])
            msg = _received(rec, "L1")
            assert msg.reply("回 L2").wait(10).code == 0
            rec.wait("send_message", lambda kw: "L2" in kw["msg"].content)
    finally:
        show.detach()
    lines = [r.getMessage() for r in caplog.records if r.name == "openqq_sync.showmsg"]
    group_name = msg.group.displayname
    assert any(line.endswith(f"[群消息] {msg.sender.displayname}|{group_name} : 日志 L1") for line in lines)
    assert any(line.endswith(f"[群消息] 我->{group_name} : 回 L2") for line in lines)
