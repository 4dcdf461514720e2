"""The /sandbox/ control API over HTTP, faults, delays, world changes and chatter."""

from __future__ import annotations

import json
import threading
import time

import pytest
import requests

from helpers import eventually

from ._smartqq import R_S, Walker


def ctl(sandbox, verb, body=None, method="POST"):
    return requests.request(method, "%s/sandbox/%s" % (sandbox.url, verb), json=body, timeout=10)


def test_world_snapshot_over_http(sandbox):
    r = requests.get(sandbox.url + "/sandbox/world")
    assert r.status_code == 200 and "application/json" in r.headers["Content-Type"]
    assert "\\u" not in r.text
    w = r.json()
    assert len(w["friends"]) == 20 and len({f["category"] for f in w["friends"]}) == 3
    assert len(w["groups"]) == 5 and len(w["discusses"]) == 2
    names = [f["name"] for f in w["friends"]] + [m["name"] for g in w["groups"] for m in g["members"]]
    text = "".join(names)
    for ch in ("<", "&", '"', " "):
        assert ch in text
    assert any(ord(c) > 0x1F000 for c in text)  # emoji
    assert all(g["role"] in ("create", "manage", "attend") for g in w["groups"])
    assert {m["role"] for g in w["groups"] for m in g["members"]} == {"owner", "admin", "member"}
    slim = requests.get(sandbox.url + "/sandbox/world?members=0").json()
    assert "members" not in slim["groups"][0]


def test_message_sent_admin_routes(sandbox, walker):
    snap = sandbox.world.snapshot()
    f = snap["friends"][0]
    r = ctl(sandbox, "message", {"type": "friend_message", "sender_uid": f["uid"], "content": "hi [微笑]"})
    assert r.status_code == 200 and r.json()["delivered"] == 1
    d = snap["discusses"][1]
    dm = [m for m in d["members"] if m["uid"] != snap["account"]["uid"]][0]
    r = ctl(sandbox, "message", {"type": "discuss_message", "sender_uid": dm["uid"], "discuss_key": d["key"],
                                 "content": "讨论"})
    assert r.status_code == 200
    body = walker.poll().json()
    assert [x["poll_type"] for x in body["result"]] == ["message", "discu_message"]
    assert ctl(sandbox, "message", {"type": "friend_message", "sender_uid": 1, "content": "x"}).status_code == 400
    assert ctl(sandbox, "message", {"type": "nope", "sender_uid": f["uid"], "content": "x"}).status_code == 400
    assert ctl(sandbox, "message", {"bogus": 1}).status_code == 400
    walker.send("send_buddy_msg2", ["回复"], to=f["id"], face=570)
    sent = requests.get(sandbox.url + "/sandbox/sent").json()
    assert sent[0]["type"] == "friend_message" and sent[0]["target"] == f["uid"] and sent[0]["content"] == "回复"
    assert requests.get(sandbox.url + "/sandbox/admin").json() == []


def test_scan_confirm_expire_routes(sandbox):
    sandbox.world.auto_scan = None
    sandbox.world.auto_confirm = None
    w = Walker(sandbox.url)
    w.prepare()
    w.ptqrshow()
    assert ctl(sandbox, "scan").json() == {"scanned": 1}
    assert ctl(sandbox, "confirm").json() == {"confirmed": 1}
    assert w.wait_qr()[0] == "0"
    w.ptqrshow()
    assert ctl(sandbox, "expire_qrcode").json() == {"expired": 1}
    assert ctl(sandbox, "expire_session").json() == {"expired": True}
    assert ctl(sandbox, "status", method="GET").json()["logged_in"] is False


def test_poll_faults_retcode_status_hang(sandbox, walker):
    assert ctl(sandbox, "fault", {"endpoint": "poll2", "count": 2, "retcode": 121}).status_code == 200
    assert walker.poll().json()["retcode"] == 121
    assert walker.poll().json()["retcode"] == 121
    ctl(sandbox, "fault", {"endpoint": "poll2", "status": 502})
    assert walker.poll().status_code == 502
    ctl(sandbox, "fault", {"endpoint": "poll2", "retcode": 116})
    r = walker.poll().json()
    assert r["retcode"] == 116 and r["p"]
    # The friend hash now follows the new ptwebqq (16.3).
    walker.ptwebqq = r["p"]
    assert walker.post_r("https://s.web2.qq.com/api/get_user_friends2",
                         {"hash": walker.hash(), "vfwebqq": walker.vfwebqq}, R_S).json()["retcode"] == 0
    ctl(sandbox, "fault", {"endpoint": "get_self_info2", "hang": 0.3})
    t = time.monotonic()
    assert walker.get("https://s.web2.qq.com/api/get_self_info2", t=1).json()["retcode"] == 0
    assert time.monotonic() - t >= 0.3
    assert ctl(sandbox, "fault", {"endpoint": "poll2", "retcode": 1, "status": 500}).status_code == 400


def test_fault_on_ext_and_send(sandbox, walker):
    f = sandbox.world.snapshot()["friends"][0]
    ctl(sandbox, "fault", {"endpoint": "send_buddy_msg2", "retcode": 1202})
    assert walker.send("send_buddy_msg2", ["x"], to=f["id"], face=570).json()["retcode"] == 1202
    ctl(sandbox, "fault", {"endpoint": "get_group_list", "retcode": 4})
    assert walker.ext("http://qun.qq.com/cgi-bin/qun_mgr/get_group_list").json()["ec"] == 4
    ctl(sandbox, "fault", {"endpoint": "*", "count": 3, "status": 500})
    assert ctl(sandbox, "faults", method="GET").json()["faults"][0]["count"] == 3
    ctl(sandbox, "faults", method="DELETE")
    assert ctl(sandbox, "faults", method="GET").json() == {"faults": [], "delays": {}}


def test_delay(sandbox, walker):
    ctl(sandbox, "delay", {"endpoint": "get_self_info2", "ms": 200})
    t = time.monotonic()
    walker.get("https://s.web2.qq.com/api/get_self_info2", t=1)
    assert time.monotonic() - t >= 0.2
    ctl(sandbox, "delay", {"endpoint": "get_self_info2", "ms": 0})


def test_hang_does_not_block_stop():
    from openqq_sync.sandbox import SandboxServer

    srv = SandboxServer(port=0, auto_scan=0.01, auto_confirm=0.01, poll_hold=30).start()
    w = Walker(srv.url).qr_login()
    srv.world.add_fault("get_self_info2", hang=60)
    done = []
    threads = [threading.Thread(target=lambda: done.append(w.poll(timeout=30)), daemon=True),
               threading.Thread(target=lambda: done.append(
                   Walker(srv.url, w.http).get("https://s.web2.qq.com/api/get_self_info2", t=1)), daemon=True)]
    for t in threads:
        t.start()
    assert srv.world.wait_for_polls(1, timeout=5)
    assert eventually(lambda: not srv.world.faults)      # the hang has begun
    t0 = time.monotonic()
    srv.stop()
    assert time.monotonic() - t0 < 3
    for t in threads:
        t.join(5)
        assert not t.is_alive()
    assert not [t for t in threading.enumerate() if t.name.startswith(("openqq-sandbox", "waitress"))]


def _friends(walker):
    r = walker.post_r("https://s.web2.qq.com/api/get_user_friends2",
                      {"hash": walker.hash(), "vfwebqq": walker.vfwebqq}, R_S).json()["result"]
    return {i["uin"]: i["nick"] for i in r["info"]}


def _groups(walker):
    r = walker.get("https://s.web2.qq.com/api/get_group_name_list_mask2",
                   r=json.dumps({"hash": walker.hash(), "vfwebqq": walker.vfwebqq})).json()["result"]
    return {g["gid"]: g for g in r["gnamelist"]}


def test_world_changes_show_in_the_endpoints(sandbox, walker):
    before = _friends(walker)
    r = ctl(sandbox, "add_friend", {"name": "新朋友 <new>", "category": "朋友"})
    assert r.status_code == 200
    uid = r.json()["uid"]
    after = _friends(walker)
    assert len(after) == len(before) + 1 and "新朋友 &lt;new&gt;" in after.values()
    ctl(sandbox, "rename_friend", {"uid": uid, "name": "改名了", "markname": "备注"})
    assert "改名了" in _friends(walker).values()
    assert ctl(sandbox, "remove_friend", {"uid": uid}).status_code == 200
    assert _friends(walker) == before
    assert ctl(sandbox, "remove_friend", {"uid": uid}).status_code == 404

    r = ctl(sandbox, "add_group", {"name": "新群 & co", "role": "admin", "members": [{"name": "甲"}, {"name": "乙"}]})
    guid = r.json()["uid"]
    groups = _groups(walker)
    assert len(groups) == 6
    snap = {g["uid"]: g for g in sandbox.world.snapshot()["groups"]}
    code = snap[guid]["code"]
    detail = walker.get("https://s.web2.qq.com/api/get_group_info_ext2", gcode=code, vfwebqq=walker.vfwebqq,
                        t=1).json()["result"]
    assert len(detail["minfo"]) == 4      # account, owner, 甲, 乙
    m = ctl(sandbox, "add_group_member", {"group_uid": guid, "name": "丙", "card": "卡片"}).json()
    ctl(sandbox, "rename_group_member", {"group_uid": guid, "uid": m["uid"], "card": "新卡片"})
    detail = walker.get("https://s.web2.qq.com/api/get_group_info_ext2", gcode=code, vfwebqq=walker.vfwebqq,
                        t=1).json()["result"]
    assert "新卡片" in [c["card"] for c in detail["cards"]]
    ctl(sandbox, "remove_group_member", {"group_uid": guid, "uid": m["uid"]})
    ctl(sandbox, "rename_group", {"uid": guid, "name": "改名群", "markname": "群备注"})
    g = [g for g in _groups(walker).values() if g["code"] == code][0]
    assert g["name"] == "改名群" and g["markname"] == "群备注"
    ctl(sandbox, "remove_group", {"uid": guid})
    assert len(_groups(walker)) == 5
    assert walker.get("https://s.web2.qq.com/api/get_group_info_ext2", gcode=code, vfwebqq=walker.vfwebqq,
                      t=1).json()["retcode"] == 100001

    r = ctl(sandbox, "add_discuss", {"name": "新讨论组", "members": [{"name": "丁"}]}).json()
    assert r["key"] == "d3"
    dm = ctl(sandbox, "add_discuss_member", {"key": "d3", "name": "戊"}).json()
    ctl(sandbox, "rename_discuss_member", {"key": "d3", "uid": dm["uid"], "name": "己"})
    ctl(sandbox, "rename_discuss", {"key": "d3", "name": "改名讨论组"})
    did = [d for d in sandbox.world.snapshot()["discusses"] if d["key"] == "d3"][0]["id"]
    info = walker.get("http://d1.web2.qq.com/channel/get_discu_info", "http://d1.web2.qq.com/proxy.html",
                      did=did, vfwebqq=walker.vfwebqq, t=1, **walker.session_params()).json()["result"]
    assert info["info"]["discu_name"] == "改名讨论组" and "己" in [m["nick"] for m in info["mem_info"]]
    ctl(sandbox, "remove_discuss_member", {"key": "d3", "uid": dm["uid"]})
    ctl(sandbox, "remove_discuss", {"key": "d3"})
    assert ctl(sandbox, "remove_discuss", {"key": "d3"}).status_code == 404
    assert ctl(sandbox, "frobnicate", {}).status_code == 404
    assert ctl(sandbox, "add_friend", {"name": "O'Brien"}).status_code == 400


def test_chatter_sends_messages(sandbox, walker):
    assert ctl(sandbox, "chatter", {"rate": 6000}).json() == {"chatter": 6000.0}
    body = walker.poll().json()
    assert body["retcode"] == 0 and body["result"]
    ctl(sandbox, "chatter", {"rate": 0})
    assert {x["poll_type"] for x in body["result"]} <= {"message", "group_message", "discu_message"}


def test_echo_sends_when_enabled(sandbox, walker):
    sandbox.world.echo_sends = True
    g = sandbox.world.snapshot()["groups"][0]
    walker.send("send_qun_msg2", ["自己发的 ", ["face", 14]], group_uin=g["id"], face=591)
    v = walker.poll().json()["result"][0]["value"]
    assert v["send_uin"] == walker.uin and v["from_uin"] == g["id"]
    assert v["content"][0][0] == "font" and v["content"][1:] == ["自己发的 ", ["face", 14]]


@pytest.mark.parametrize("verb, body", [
    ("chatter", '{"rate": Infinity}'), ("chatter", '{"rate": NaN}'), ("chatter", '{"rate": -1}'),
    ("delay", '{"endpoint": "poll2", "ms": Infinity}'),
    ("fault", '{"endpoint": "poll2", "hang": NaN}'),
])
def test_non_finite_or_out_of_range_numbers_are_refused(sandbox, verb, body):
    # Python's JSON reader takes NaN and Infinity: a flood of chatter or a hang for ever.
    r = requests.post(sandbox.url + "/sandbox/" + verb, data=body, headers={"Content-Type": "application/json"},
                      timeout=5)
    assert r.status_code == 400 and "must be a number" in r.json()["error"]
    assert sandbox.world.chatter_rate == 0
