"""poll2 and the send endpoints."""

from __future__ import annotations

import threading

from ._smartqq import Walker


def _poll_in_thread(walker):
    box = {}
    arrived = threading.Event()

    def run():
        box["r"] = walker.poll(timeout=10)
        arrived.set()
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return box, arrived, t


def test_injected_message_comes_out_of_a_pending_poll(sandbox, walker):
    world = sandbox.world
    friend = world.snapshot()["friends"][0]
    box, arrived, t = _poll_in_thread(walker)
    assert world.wait_for_polls(1, timeout=5)
    world.inject_message("friend_message", friend["uid"], "你好 [微笑] <b>&")
    assert arrived.wait(5)                 # long before the 2 s hold
    body = box["r"].json()
    assert body["retcode"] == 0 and len(body["result"]) == 1
    v = body["result"][0]["value"]
    assert body["result"][0]["poll_type"] == "message"
    assert v["from_uin"] == friend["id"] and v["to_uin"] == walker.uin
    assert v["content"][0][0] == "font"
    assert v["content"][1:] == ["你好 ", ["face", 14], " &lt;b&gt;&amp;"]
    t.join(5)


def test_queued_messages_come_in_one_answer_in_order(sandbox, walker):
    world = sandbox.world
    snap = world.snapshot()
    f = snap["friends"][1]
    g = snap["groups"][2]
    sender = [m for m in g["members"] if m["uid"] != snap["account"]["uid"]][0]
    d = snap["discusses"][0]
    dm = [m for m in d["members"] if m["uid"] != snap["account"]["uid"]][0]
    world.inject_message("friend_message", f["uid"], "one")
    world.inject_message("group_message", sender["uid"], "two", group_uid=g["uid"])
    world.inject_message("discuss_message", dm["uid"], "three", discuss_key=d["key"])
    world.inject_message("sess_message", sender["uid"], "four", group_uid=g["uid"])
    body = walker.poll().json()
    kinds = [x["poll_type"] for x in body["result"]]
    assert kinds == ["message", "group_message", "discu_message", "sess_message"]
    gm = body["result"][1]["value"]
    assert gm["from_uin"] == g["id"] and gm["send_uin"] == sender["id"]
    dmsg = body["result"][2]["value"]
    assert dmsg["did"] == d["id"] and dmsg["send_uin"] == dm["id"]
    sess = body["result"][3]["value"]
    assert sess["service_type"] == 0 and sess["id"] == g["id"] and sess["ruin"] == sender["uid"]
    ids = [x["value"]["msg_id"] for x in body["result"]]
    assert ids == sorted(ids)


def test_idle_poll_answers_after_the_hold(sandbox, walker):
    sandbox.world.poll_hold = 0.2
    r = walker.poll()
    assert r.status_code == 200 and r.json() == {"errmsg": "error!!!", "retcode": 0}


def test_nothing_lost_between_polls(sandbox, walker):
    sandbox.world.poll_hold = 0.2
    uid = sandbox.world.snapshot()["friends"][0]["uid"]
    walker.poll()
    sandbox.world.inject_message("friend_message", uid, "between polls")
    assert walker.poll().json()["result"][0]["value"]["content"][1] == "between polls"


def test_poll_rejects_stale_session(sandbox, walker):
    walker.psessionid = "0" * 80
    assert walker.poll().json()["retcode"] == 103


def test_sends_are_recorded_decoded(sandbox, walker):
    world = sandbox.world
    snap = world.snapshot()
    f, g, d = snap["friends"][0], snap["groups"][0], snap["discusses"][0]
    r = walker.send("send_buddy_msg2", ["hello ", ["face", 14], " 世界"], to=f["id"], face=570)
    assert r.json() == {"errCode": 0, "msg": "send ok"}
    assert walker.send("send_qun_msg2", ["群消息"], group_uin=g["id"], face=591).json()["errCode"] == 0
    assert walker.send("send_discu_msg2", ["讨论"], did=d["id"], face=591).json()["errCode"] == 0
    member = [m for m in g["members"] if m["uid"] != snap["account"]["uid"]][0]
    sig = walker.get("http://d1.web2.qq.com/channel/get_c2cmsg_sig2", "http://d1.web2.qq.com/proxy.html?v=20151105001&callback=1&id=2",
                     id=g["id"], to_uin=member["id"], service_type=0, t=1, **walker.session_params()).json()
    assert sig["retcode"] == 0 and sig["result"]["value"]
    r = walker.send("send_sess_msg2", ["临时"], to=member["id"], group_sig=sig["result"]["value"], service_type=0,
                    face=591)
    assert r.json()["errCode"] == 0
    sent = world.sent
    assert [(s["type"], s["target"], s["content"]) for s in sent] == [
        ("friend_message", f["uid"], "hello [微笑] 世界"),
        ("group_message", g["uid"], "群消息"),
        ("discuss_message", d["key"], "讨论"),
        ("sess_message", member["uid"], "临时"),
    ]
    assert sent[3]["group_uid"] == g["uid"] and sent[3]["via"] == "group"


def test_send_rejections(sandbox, walker):
    f = sandbox.world.snapshot()["friends"][0]
    assert walker.send("send_buddy_msg2", ["x"], to=12345, face=570).json() == {"errCode": 1, "errMsg": "ERROR"}
    # font not last
    import json
    body = dict(to=f["id"], face=570, msg_id=1, content=json.dumps([["font", {}], "x"]), **walker.session_params())
    assert walker.post_r("http://d1.web2.qq.com/channel/send_buddy_msg2", body).json()["retcode"] == 100001
    w2 = Walker(sandbox.url)
    w2.psessionid = "f" * 80
    assert w2.send("send_buddy_msg2", ["x"], to=f["id"], face=570).json()["retcode"] == 103
    assert sandbox.world.sent == []
