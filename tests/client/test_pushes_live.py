"""The service's non-message pushes, end to end over loopback: the sandbox pushes a friend's
presence and a forced logout through poll2; the client applies them; the API shows them."""

from __future__ import annotations

import logging

import requests

from stacks import LiveStack, eventually


def test_presence_pushed_by_the_service_shows_in_the_api_and_costs_no_message(tmp_path):
    # friend_property_change is not in the default post_event_list; listed, it is reported.
    live = LiveStack(str(tmp_path), receiver=False,
                     post_event_list=["login", "stop", "state_change", "friend_property_change"])
    try:
        friend = next(f for f in live.world["friends"] if f["uid"] and f["state"] == "offline")
        sender = next(f for f in live.world["friends"] if f["uid"] and f["uid"] != friend["uid"])
        since = live.delivery.buffer.last_seq
        r = requests.post(live.sandbox.url + "/sandbox/friend_status",
                          json={"uid": friend["uid"], "status": "busy", "client_type": 21}, timeout=5)
        assert r.json() == {"delivered": 1}
        # A message right behind it in the same poll answer must still arrive (the original
        # lost the rest of the batch after a presence change).
        live.sandbox.world.inject_message("friend_message", sender["uid"], "状态之后")

        def state():
            return next(f for f in live.get("/openqq/get_friend_info") if f["id"] == friend["id"])
        eventually(lambda: state()["state"] == "busy")
        assert state()["client_type"] == "mobile"
        items = eventually(lambda: [i for i in live.get("/openqq/check_event", since=since)
                                    if i.get("post_type") == "receive_message"])
        assert [i["content"] for i in items] == ["状态之后"]
        changes = [i for i in live.get("/openqq/check_event", since=since)
                   if i.get("event") == "friend_property_change"]
        assert [(c["params"][0]["id"], c["params"][1:]) for c in changes] == [
            (friend["id"], ["state", "offline", "busy"]),
            (friend["id"], ["client_type", "unknown", "mobile"])]   # offline: type unknown
    finally:
        live.close()


def test_a_forced_logout_stops_the_client_with_the_reason_and_reports_it(tmp_path, caplog):
    live = LiveStack(str(tmp_path), receiver=False)
    try:
        since = live.delivery.buffer.last_seq
        with caplog.at_level(logging.INFO):
            r = requests.post(live.sandbox.url + "/sandbox/kick", json={"reason": "您的帐号在另一地点登录"},
                              timeout=5)
            assert r.json() == {"delivered": 1}
            eventually(lambda: live.client.state == "stop", timeout=10)
        assert "您的帐号在另一地点登录" in caplog.text
        stop = {"post_type": "event", "event": "stop", "params": []}
        # The stop report follows the state change; a read right after may see only the first.
        assert eventually(lambda: stop in [{k: v for k, v in e.items() if k != "seq"}
                                           for e in live.get("/openqq/check_event", since=since)],
                          timeout=10)
        # No relogin (the original exits): the sandbox login stays dead.
        assert live.sandbox.world.status()["logged_in"] is False
    finally:
        live.close()
