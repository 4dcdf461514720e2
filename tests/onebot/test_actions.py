"""Contact fetches, sends and group admin over a real WebSocket to the scripted server."""

from __future__ import annotations

import pytest
from onebot_fake import ok

from openqq_sync.backends.onebot import actions
from openqq_sync.backends.onebot.connection import ActionFailed, Connection
from openqq_sync.backends.onebot.mapping import group_roles

ME = 10000

MEMBERS = {
    500: [{"group_id": 500, "user_id": 30001, "nickname": "群主", "card": "老大", "role": "owner"},
          {"group_id": 500, "user_id": ME, "nickname": "机器人", "card": "", "role": "member"}],
    501: [{"group_id": 501, "user_id": ME, "nickname": "机器人", "card": "", "role": "owner"}],
}


def failed(retcode, wording=""):
    return {"status": "failed", "retcode": retcode, "data": None, "message": wording, "wording": wording}


@pytest.fixture
def world(fake_onebot):
    server = fake_onebot()
    h = server.handlers
    h["get_login_info"] = lambda p, f: ok({"user_id": ME, "nickname": "机器人"})
    h["get_stranger_info"] = lambda p, f: ok({"user_id": p["user_id"], "nickname": "机器人", "sex": "male",
                                              "long_nick": "我的签名"})
    h["get_status"] = lambda p, f: ok({"online": True, "good": True})
    h["get_friends_with_category"] = lambda p, f: ok([
        {"categoryId": 1, "categoryName": "同学", "buddyList": [{"user_id": 20001, "nickname": "张三",
                                                                "remark": "张三"}]}])
    h["get_friend_list"] = lambda p, f: ok([{"user_id": 20001, "nickname": "张三", "remark": "张三"}])
    h["get_group_list"] = lambda p, f: ok([
        {"group_id": 500, "group_name": "测试群", "member_count": 2, "max_member_count": 200},
        {"group_id": 501, "group_name": "我的群", "member_count": 1, "max_member_count": 500},
        {"group_id": 502, "group_name": "坏群", "member_count": 9, "max_member_count": 500}])
    h["get_group_member_list"] = lambda p, f: (ok(MEMBERS[p["group_id"]]) if p["group_id"] in MEMBERS
                                               else failed(1200, "群不存在"))
    conn = Connection(server.url, action_timeout=5).open()
    yield server, conn
    conn.close()


def test_fetch_user_friends_and_groups(world):
    server, conn = world
    user = actions.fetch_user(conn.call)
    assert (user["id"], user["name"], user["sex"], user["signature"], user["state"]) == (
        ME, "机器人", "male", "我的签名", "online")
    friends = actions.fetch_friends(conn.call)
    assert [(f["id"], f["markname"], f["category"]) for f in friends] == [(20001, None, "同学")]
    groups = actions.fetch_groups(conn.call)
    assert [(g["id"], g["name"], g["max_member"]) for g in groups] == [
        (500, "测试群", 200), (501, "我的群", 500), (502, "坏群", 500)]
    assert "role" not in groups[0]   # known with the members only
    m500 = actions.fetch_members(conn.call, 500)
    assert [(m["id"], m["card"]) for m in m500] == [(30001, "老大"), (ME, None)]
    assert group_roles(m500, ME) == {"role": "attend", "owner_id": 30001, "owner_uid": 30001}
    assert group_roles(actions.fetch_members(conn.call, 501), ME)["role"] == "create"
    with pytest.raises(ActionFailed):
        actions.fetch_members(conn.call, 502)


def test_friends_without_the_category_extension(world):
    server, conn = world
    del server.handlers["get_friends_with_category"]   # a spec-only server: 1404
    assert [(f["id"], f["category"]) for f in actions.fetch_friends(conn.call)] == [(20001, None)]


def test_sends_map_to_the_right_actions_and_statuses(world):
    server, conn = world
    server.handlers["send_private_msg"] = lambda p, f: ok({"message_id": 4242})
    server.handlers["send_group_msg"] = lambda p, f: ok({"message_id": 4343})
    r, message_id = actions.send(conn.call, "friend_message", "你好[微笑]", user_id=20001)
    assert (r.status(), message_id, r.ok) == ((0, "发送成功", "发送正常"), 4242, True)
    assert server.requests[-1]["params"] == {"user_id": 20001, "message": [
        {"type": "text", "data": {"text": "你好"}}, {"type": "face", "data": {"id": "14"}}]}
    assert actions.send(conn.call, "group_message", "群消息", group_id=500)[1] == 4343
    assert server.requests[-1]["action"] == "send_group_msg"
    actions.send(conn.call, "sess_message", "临时", user_id=30001, group_id=500)
    assert server.requests[-1]["action"] == "send_private_msg"
    assert server.requests[-1]["params"]["group_id"] == 500
    with pytest.raises(ValueError):
        actions.send(conn.call, "discuss_message", "x", group_id=1)


def test_a_risk_control_timeout_is_final_and_sent_once(world):
    server, conn = world
    server.handlers["send_group_msg"] = lambda p, f: failed(
        1200, "Timeout: NTEvent serviceAndMethod:NodeIKernelMsgService/sendMsg")
    before = len(server.requests)
    r, message_id = actions.send(conn.call, "group_message", "会超时", group_id=500)
    assert (r.code, r.msg, message_id) == (1200, "发送失败", None)
    assert "不重发" in r.info and "sendMsg" in r.info
    assert r.final and r.session_suspect
    assert len(server.requests) == before + 1
    server.handlers["send_group_msg"] = lambda p, f: failed(1400, "参数错误")
    r, _ = actions.send(conn.call, "group_message", "x", group_id=500)
    assert (r.status(), r.final, r.session_suspect) == ((1400, "发送失败", "参数错误"), True, False)


def test_no_answer_is_final_and_a_lost_connection_before_sending_is_retryable(fake_onebot):
    server = fake_onebot()
    server.handlers["send_private_msg"] = lambda p, f: None
    conn = Connection(server.url, action_timeout=0.3).open()
    try:
        r, _ = actions.send(conn.call, "friend_message", "无响应", user_id=1)
        assert (r.code, r.final) == (-1, True) and "不重发" in r.info
    finally:
        conn.close()
    r, _ = actions.send(conn.call, "friend_message", "断开了", user_id=1)
    assert (r.status(), r.final) == ((-1, "发送失败", "未连接到OneBot服务端"), False)


def test_shutup_always_passes_the_duration_and_kick(world):
    server, conn = world
    server.handlers["set_group_ban"] = lambda p, f: ok(None)
    server.handlers["set_group_kick"] = lambda p, f: ok(None) if p["user_id"] != 30009 else failed(1200, "无权限")
    assert actions.shutup(conn.call, 500, [30001, 30002], 600) is True
    bans = [r["params"] for r in server.requests if r["action"] == "set_group_ban"]
    assert bans == [{"group_id": 500, "user_id": 30001, "duration": 600},
                    {"group_id": 500, "user_id": 30002, "duration": 600}]
    assert actions.kick(conn.call, 500, [30001, 30009]) == [30001]
    kicks = [r["params"] for r in server.requests if r["action"] == "set_group_kick"]
    assert kicks[0] == {"group_id": 500, "user_id": 30001, "reject_add_request": False}
