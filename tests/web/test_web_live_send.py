"""Send routes over loopback: every lookup form, sync and async, every failure code; each
accepted send is checked in the sandbox's record of what the account sent."""

from __future__ import annotations

import requests

from stacks import eventually

SENT_OK = {"code": 0, "status": "发送成功", "info": "发送正常"}


def _sent(live, content):
    return eventually(lambda: [s for s in live.sandbox.world.sent if s["content"] == content])


def _ok(answer):
    assert isinstance(answer["id"], int)
    assert {k: answer[k] for k in ("code", "status", "info")} == SENT_OK


def _unique_friend(live):
    names = [f["name"] for f in live.world["friends"]]
    return next(f for f in live.world["friends"] if names.count(f["name"]) == 1 and not f["markname"])


def test_send_friend_message_by_id_uid_name_displayname(live):
    f = _unique_friend(live)
    marked = next(x for x in live.world["friends"] if x["markname"])
    cases = [({"id": f["id"]}, f), ({"uid": f["uid"]}, f), ({"name": f["name"]}, f),
             ({"displayname": marked["markname"]}, marked), ({"id": f["id"], "uid": f["uid"]}, f)]
    for n, (keys, target) in enumerate(cases):
        content = f"你好 {n} & 😀"
        _ok(live.get("/openqq/send_friend_message", content=content, **keys))
        assert _sent(live, content)[0]["target"] == target["uid"]
        assert _sent(live, content)[0]["type"] == "friend_message"


def test_send_by_post_form_and_json_body(live):
    f = _unique_friend(live)
    r = requests.post(live.url + "/openqq/send_friend_message", data={"uid": f["uid"], "content": "表单"}, timeout=30)
    _ok(r.json())
    r = requests.post(live.url + "/openqq/send_friend_message", json={"uid": f["uid"], "content": "JSON 体"},
                      timeout=30)
    _ok(r.json())
    assert _sent(live, "表单") and _sent(live, "JSON 体")


def test_send_group_and_discuss_messages(live):
    g = live.world["groups"][0]
    _ok(live.get("/openqq/send_group_message", uid=g["uid"], content="群 hello"))
    _ok(live.get("/openqq/send_group_message", name=g["name"], content="群 by name"))
    assert _sent(live, "群 hello")[0]["target"] == g["uid"]
    d = live.world["discusses"][0]
    _ok(live.get("/openqq/send_discuss_message", id=d["id"], content="讨论组 hi"))
    assert _sent(live, "讨论组 hi")[0]["target"] == d["key"]


def test_async_sends_answer_at_once_and_still_send(live):
    f = _unique_friend(live)
    g = live.world["groups"][0]
    d = live.world["discusses"][1]
    accepted = {"code": 0, "status": "request already in execution"}
    assert live.get("/openqq/send_friend_message", uid=f["uid"], content="async 好友", **{"async": 1}) == accepted
    assert live.get("/openqq/send_group_message", id=g["id"], content="async 群", **{"async": 1}) == accepted
    # The original's async discussion send sent nothing (17, #1); ours sends.
    assert live.get("/openqq/send_discuss_message", id=d["id"], content="async 讨论组", **{"async": "1"}) == accepted
    assert _sent(live, "async 好友") and _sent(live, "async 群")
    assert _sent(live, "async 讨论组")[0]["target"] == d["key"]


def test_send_sess_message_via_group_and_via_discussion(live):
    g = live.world["groups"][2]
    member = next(m for m in g["members"] if m["uid"] != live.world["account"]["uid"])
    _ok(live.get("/openqq/send_sess_message", group_uid=g["uid"], uid=member["uid"], content="群临时"))
    rec = _sent(live, "群临时")[0]
    assert rec["type"] == "sess_message" and rec["target"] == member["uid"] and rec["via"] == "group"
    _ok(live.get("/openqq/send_sess_message", group_id=g["id"], id=member["id"], content="群临时2"))
    d = live.world["discusses"][0]
    dm = next(m for m in d["members"] if m["uid"] != live.world["account"]["uid"])
    _ok(live.get("/openqq/send_sess_message", discuss_id=d["id"], id=dm["id"], content="讨论组临时"))
    rec = _sent(live, "讨论组临时")[0]
    assert rec["via"] == "discuss" and rec["target"] == dm["uid"]


def test_send_failures_answer_the_original_codes(live):
    g = live.world["groups"][0]
    d = live.world["discusses"][0]
    assert live.get("/openqq/send_friend_message", uid=1, content="x") == \
        {"id": None, "code": 100, "status": "friend not found"}
    assert live.get("/openqq/send_friend_message", content="x") == \
        {"id": None, "code": 100, "status": "friend not found"}
    assert live.get("/openqq/send_group_message", uid=1, content="x") == \
        {"id": None, "code": 101, "status": "group not found"}
    assert live.get("/openqq/send_discuss_message", id=1, content="x") == \
        {"id": None, "code": 102, "status": "discuss not found"}
    assert live.get("/openqq/send_sess_message", group_uid=g["uid"], uid=1, content="x") == \
        {"id": None, "code": 103, "status": "group member not found"}
    assert live.get("/openqq/send_sess_message", group_uid=1, uid=1, content="x")["code"] == 103
    assert live.get("/openqq/send_sess_message", discuss_id=d["id"], uid=1, content="x") == \
        {"id": None, "code": 104, "status": "discuss member not found"}
    assert live.get("/openqq/send_sess_message", uid=1, content="x") == \
        {"id": None, "code": 105, "status": "discuss member or group member  not found"}


def test_empty_content_is_an_error_not_a_hang(live):
    f = _unique_friend(live)
    for params in ({"uid": f["uid"]}, {"uid": f["uid"], "content": ""}, {"uid": f["uid"], "async": "1"}):
        assert live.get("/openqq/send_friend_message", **params) == \
            {"id": None, "code": 400, "status": "content empty"}
    g = live.world["groups"][0]
    assert live.get("/openqq/send_group_message", id=g["id"])["code"] == 400
