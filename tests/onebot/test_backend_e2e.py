"""The Openqq API over the onebot backend, end to end: the sandbox's OneBot face over a real
WebSocket, the Client, Delivery and the API over loopback HTTP."""

from __future__ import annotations

import pytest
from onebot_stack import OneBotStack


@pytest.fixture
def stack(tmp_path):
    s = OneBotStack(str(tmp_path))
    try:
        yield s
    finally:
        s.close()


def _by_uid(items):
    return {int(i["uid"]): i for i in items}


def test_contacts_are_the_world_with_qq_numbers_as_ids(stack):
    world = stack.world
    me = stack.api("get_user_info")
    assert int(me["id"]) == int(me["uid"]) == int(me["account"]) == world["account"]["uid"]
    assert me["name"] == world["account"]["name"]
    friends = stack.api("get_friend_info")
    assert set(_by_uid(friends)) == {f["uid"] for f in world["friends"]}
    for f in friends:
        w = next(x for x in world["friends"] if x["uid"] == int(f["uid"]))
        assert int(f["id"]) == int(f["uid"])
        assert f["name"] == w["name"]
        assert f["markname"] == w["markname"]        # NapCat's remark = nickname became null
        assert f["category"] == w["category"]       # from get_friends_with_category
        assert (f["state"], f["client_type"]) == ("offline", "unknown")
    groups = _by_uid(stack.api("get_group_info"))
    for wg in world["groups"]:
        g = groups[wg["uid"]]
        assert int(g["id"]) == int(g["code"]) == wg["uid"]
        assert (g["name"], g["role"], int(g["owner_uid"])) == (wg["name"], wg["role"], wg["owner_uid"])
        members = _by_uid(g["member"])
        assert set(members) == {m["uid"] for m in wg["members"]}
        for wm in wg["members"]:
            m = members[wm["uid"]]
            assert (m["name"], m["card"], m["role"]) == (wm["name"], wm["card"], wm["role"])
    assert stack.api("get_discuss_info") == []
    info = stack.api("get_client_info")
    assert (info["backend"], info["server"]) == ("onebot", stack.config.onebot_url)
    assert info["state"] == "running"
    qr = stack.api("get_qrcode")
    assert "server's own UI" in qr["status"]


def test_received_messages_are_reported_with_faces_by_name(stack):
    friend = stack.world["friends"][0]
    stack.control("message", type="friend_message", sender_uid=friend["uid"], content="你好[微笑][飞吻]")
    msg = stack.wait_post(lambda b: b.get("type") == "friend_message")
    assert msg["content"] == "你好[微笑][飞吻]"
    assert (int(msg["sender_id"]), int(msg["sender_uid"])) == (friend["uid"], friend["uid"])
    assert msg["sender"] == (friend["markname"] or friend["name"])
    assert int(msg["receiver_uid"]) == stack.world["account"]["uid"]
    group = stack.group("attend")
    member = next(m for m in group["members"] if m["role"] == "member" and m["uid"] != stack.world["account"]["uid"])
    me = stack.world["account"]["uid"]
    stack.control("message", type="group_message", sender_uid=member["uid"], group_uid=group["uid"],
                  content=[{"type": "at", "data": {"qq": str(me)}}, {"type": "text", "data": {"text": " 看图"}},
                           {"type": "image", "data": {"file": "a.jpg", "url": "http://127.0.0.1/a.jpg"}}])
    gmsg = stack.wait_post(lambda b: b.get("type") == "group_message")
    assert gmsg["content"].endswith(" 看图[图片]") and gmsg["content"].startswith("@")
    assert (int(gmsg["group_uid"]), gmsg["group"]) == (group["uid"], group["name"])
    assert int(gmsg["sender_uid"]) == member["uid"]
    # check_event has them too
    events = stack.api("check_event")
    assert {e.get("type") for e in events} >= {"friend_message", "group_message"}


def test_sends_reach_the_world_and_answer_the_original_codes(stack):
    friend = stack.world["friends"][1]
    answer = stack.api("send_friend_message", id=friend["uid"], content="你好[微笑]世界")
    assert (answer["code"], answer["status"]) == (0, "发送成功")
    group = stack.group("attend")
    answer = stack.api("send_group_message", uid=group["uid"], content="大家好")
    assert answer["code"] == 0
    member = next(m for m in group["members"] if m["uid"] != stack.world["account"]["uid"])
    answer = stack.api("send_sess_message", group_uid=group["uid"], uid=member["uid"], content="临时消息")
    assert answer["code"] == 0
    sent = stack.sandbox_get("sent")
    onebot = [s for s in sent if s.get("via") == "onebot"]
    assert len(onebot) == 3
    texts = [str(s) for s in onebot]
    assert "你好" in texts[0] and "世界" in texts[0]
    # discussions do not exist: the original's "not found" codes
    assert stack.api("send_discuss_message", id=1, content="x")["code"] == 102
    assert stack.api("send_sess_message", discuss_id=1, id=1, content="x")["code"] in (104, 105)
    # the send reports went to post_api
    reports = [b for b in stack.posts("send_message")]
    assert len(reports) == 3 and all(r["code"] == 0 for r in reports)


def test_cq_string_events_are_read_as_well(tmp_path):
    stack = OneBotStack(str(tmp_path), sandbox_kw={"onebot_message_format": "string"})
    try:
        friend = stack.world["friends"][0]
        stack.control("message", type="friend_message", sender_uid=friend["uid"], content="方括号[不是表情][微笑]&")
        msg = stack.wait_post(lambda b: b.get("type") == "friend_message")
        assert msg["content"] == "方括号[不是表情][微笑]&"
    finally:
        stack.close()


def test_relogin_route_reconnects_and_reloads(stack):
    logins = len(stack.posts("event", "login"))
    assert stack.api("relogin")["code"] == 0
    stack.wait_post(lambda b: b.get("event") == "login" and len(stack.posts("event", "login")) > logins)
    assert stack.client.wait_for_state("running", 10)
    assert len(stack.api("get_friend_info")) == len(stack.world["friends"])
    friend = stack.world["friends"][0]
    assert stack.api("send_friend_message", id=friend["uid"], content="重新登录后")["code"] == 0


def test_searches_basic_info_and_stop_client(stack):
    friend = stack.world["friends"][2]
    found = stack.api("search_friend", name=friend["name"])
    assert [int(f["uid"]) for f in found] == [friend["uid"]]
    assert [int(f["id"]) for f in stack.api("search_friend", uid=friend["uid"])] == [friend["uid"]]
    group = stack.group("manage")
    found = stack.api("search_group", name=group["name"])
    assert [int(g["uid"]) for g in found] == [group["uid"]]
    assert [int(g["id"]) for g in stack.api("search_group", role="manage")] == [group["uid"]]
    basic = stack.api("get_group_basic_info")
    assert {int(g["uid"]) for g in basic} == {g["uid"] for g in stack.world["groups"]}
    assert all("member" not in g for g in basic)
    answer = stack.api("stop_client")
    assert answer["code"] == 0
    assert stack.stopped.wait(10)
    assert stack.client.wait_for_state("stop", 10)
    stack.wait_post(lambda b: b.get("event") == "stop")


def test_a_post_api_reply_goes_out_through_onebot(stack):
    import json as _json

    def respond(req):
        body = req.json()
        if body.get("type") == "friend_message" and body.get("post_type") == "receive_message":
            return 200, {"Content-Type": "application/json"}, _json.dumps(
                {"reply": "自动回复[微笑]"}, ensure_ascii=False).encode()
        return 200, {"Content-Type": "text/plain"}, b"ok"

    stack.receiver.respond = respond
    friend = stack.world["friends"][3]
    stack.control("message", type="friend_message", sender_uid=friend["uid"], content="在吗")
    report = stack.wait_post(lambda b: b.get("post_type") == "send_message")
    assert (report["code"], report["content"]) == (0, "自动回复[微笑]")
    sent = [s for s in stack.sandbox_get("sent") if s.get("via") == "onebot"]
    assert len(sent) == 1
    assert {"type": "face", "data": {"id": "14"}} in sent[0]["segments"]   # NT face 14, by name
