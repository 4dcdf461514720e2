"""Control verbs for the two service pushes that are not messages: a friend's presence
(``buddies_status_change``) and a forced logout (``kick_message``)."""

from __future__ import annotations

import requests

from ._smartqq import Walker


def _online(walker: Walker) -> dict:
    r = walker.get("http://d1.web2.qq.com/channel/get_online_buddies2", "http://d1.web2.qq.com/proxy.html?v=20151105001&callback=1&id=2",
                   vfwebqq=walker.vfwebqq, **walker.session_params())
    return {b["uin"]: (b["status"], b["client_type"]) for b in r.json()["result"]}


def test_a_presence_change_is_pushed_and_shown_by_get_online_buddies2(sandbox, walker):
    sandbox.world.poll_hold = 0.2
    friend = next(f for f in sandbox.world.snapshot()["friends"] if f["state"] == "offline")
    assert friend["id"] not in _online(walker)
    r = requests.post(sandbox.url + "/sandbox/friend_status", json={"uid": friend["uid"], "status": "busy",
                                                                     "client_type": 21}, timeout=5)
    assert r.json() == {"delivered": 1}
    assert walker.poll().json()["result"] == [{"poll_type": "buddies_status_change", "value": {
        "uin": friend["id"], "status": "busy", "client_type": 21}}]
    assert _online(walker)[friend["id"]] == ("busy", 21)
    requests.post(sandbox.url + "/sandbox/friend_status", json={"uid": friend["uid"], "status": "offline"},
                  timeout=5)
    assert walker.poll().json()["result"][0]["value"]["status"] == "offline"
    assert friend["id"] not in _online(walker)


def test_bad_presence_arguments_are_refused(sandbox):
    uid = sandbox.world.snapshot()["friends"][0]["uid"]
    for body in ({"uid": uid, "status": "在线"}, {"uid": 1, "status": "online"}, {"status": "online"},
                 {"uid": uid, "status": "online", "colour": "red"}):
        r = requests.post(sandbox.url + "/sandbox/friend_status", json=body, timeout=5)
        assert r.status_code == 400 and "error" in r.json(), body


def test_a_kick_reaches_the_session_and_then_the_login_is_dead(sandbox, walker):
    sandbox.world.poll_hold = 0.2
    r = requests.post(sandbox.url + "/sandbox/kick", json={"reason": "在别处登录了"}, timeout=5)
    assert r.json() == {"delivered": 1}
    item = walker.poll().json()["result"][0]
    assert item["poll_type"] == "kick_message"
    assert item["value"]["reason"] == "在别处登录了" and item["value"]["show_reason"] == 1
    assert walker.poll().json()["retcode"] == 103                  # the session died with it
    assert sandbox.world.status()["logged_in"] is False


def test_a_kick_with_nobody_logged_in_reaches_no_one(sandbox):
    r = requests.post(sandbox.url + "/sandbox/kick", json={}, timeout=5)
    assert r.json() == {"delivered": 0}
