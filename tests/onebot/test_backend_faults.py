"""The onebot backend against each fault of the sandbox's OneBot face, and a server restart."""

from __future__ import annotations

import time

import pytest
from onebot_stack import OneBotStack, start_sandbox

from helpers import eventually
from openqq_sync.client import Client
from openqq_sync.config import Config


@pytest.fixture
def stack(tmp_path):
    s = OneBotStack(str(tmp_path), onebot_action_timeout=1.0)
    try:
        yield s
    finally:
        s.close()


class _States:
    """Waits for state changes reported to post_api after the moment it was made."""

    def __init__(self, stack):
        self.stack = stack
        # Reports are delivered asynchronously: first let the current state's own arrive.
        state = stack.client.state
        stack.receiver.wait_for(lambda reqs: [r.json()["params"][1] for r in reqs if r.method == "POST"
                                              and r.json().get("event") == "state_change"][-1:] == [state])
        self.seen = len(stack.posts("event", "state_change"))

    def wait(self, old, new, timeout=10.0):
        def later(reqs):
            changes = [r.json()["params"] for r in reqs
                       if r.method == "POST" and r.json().get("event") == "state_change"]
            return [old, new] in changes[self.seen:]
        self.stack.receiver.wait_for(later, timeout)


def test_dropped_connection_reconnects_and_resyncs(stack):
    states = _States(stack)
    stack.control("onebot/drop")
    states.wait("running", "loading")
    states.wait("loading", "updating")
    states.wait("updating", "running")
    assert stack.client.running
    friend = stack.world["friends"][0]
    stack.control("message", type="friend_message", sender_uid=friend["uid"], content="回来了")
    assert stack.wait_post(lambda b: b.get("content") == "回来了")["type"] == "friend_message"


def test_a_change_missed_while_disconnected_is_reported_after_the_reconnect(tmp_path):
    stack = OneBotStack(str(tmp_path))
    try:
        friend = stack.world["friends"][0]
        port = stack.onebot_port
        states = _States(stack)
        stack.sandbox.stop()
        states.wait("running", "loading")
        start = time.monotonic()
        # the server comes back (same seed: same world) without the friend
        stack.sandbox = start_sandbox(onebot_port=port)
        stack.sandbox.world.remove_friend(friend["uid"])
        assert stack.client.wait_for_state("running", 10)
        back = time.monotonic() - start
        assert back < 3.0, back          # the target: running within 3 s of the return
        ev = stack.wait_post(lambda b: b.get("event") == "lose_friend")
        assert int(ev["params"][0]["uid"]) == friend["uid"]
        assert friend["uid"] not in {int(f["uid"]) for f in stack.api("get_friend_info")}
    finally:
        stack.close()


def test_stopped_heartbeats_trigger_a_reconnect(stack):
    # the watchdog runs once the client knows the interval (from a first heartbeat)
    eventually(lambda: stack.api("get_client_info")["server_heartbeat"] == 1.0)
    states = _States(stack)
    stack.control("onebot/heartbeat", on=False)
    states.wait("running", "loading", timeout=5)
    states.wait("updating", "running")
    stack.control("onebot/heartbeat", on=True)
    assert stack.client.running


def test_a_connection_that_never_hears_a_heartbeat_is_noticed_once_the_interval_is_known(stack):
    # lifecycle/connect carries no interval: the first connection's heartbeats teach it (1 s).
    eventually(lambda: stack.api("get_client_info")["server_heartbeat"] == 1.0)
    stack.control("onebot/heartbeat", on=False)
    states = _States(stack)
    stack.control("onebot/drop")             # no close frame; the next connection hears no heartbeat
    states.wait("running", "loading")
    states.wait("updating", "running")
    # Its watchdog runs from the connect: 2.5 intervals later it is ended and replaced.
    states = _States(stack)
    states.wait("running", "loading", timeout=6)
    states.wait("updating", "running")
    # That one heard none either: the server may have heartbeats off, so the next one is
    # left to the WebSocket pings rather than reconnected every 2.5 s.
    assert not stack.client.wait_for_state("loading", 4.0)
    assert stack.api("get_client_info")["server_heartbeat"] is None
    stack.control("onebot/heartbeat", on=True)
    eventually(lambda: stack.api("get_client_info")["server_heartbeat"] == 1.0)
    assert stack.client.running


def test_account_offline_means_not_running_until_it_is_back(stack):
    states = _States(stack)
    stack.control("onebot/offline", message="你的帐号当前登录已失效")
    states.wait("running", "loading")
    answer = stack.api("send_friend_message", id=stack.world["friends"][0]["uid"], content="离线")
    assert answer["code"] == 503 and "not running" in answer["status"]
    assert stack.api("get_client_info")["state"] == "loading"
    states = _States(stack)
    stack.control("onebot/online")
    states.wait("loading", "updating")
    states.wait("updating", "running")
    answer = stack.api("send_friend_message", id=stack.world["friends"][0]["uid"], content="上线")
    assert answer["code"] == 0


def test_risk_control_timeout_answers_a_failure_and_is_not_resent(stack):
    stack.control("onebot/send_timeout", count=1)
    group = stack.group("attend")
    answer = stack.api("send_group_message", uid=group["uid"], content="风控测试")
    assert answer["code"] == 1200 and answer["status"] == "发送失败"
    # the sandbox sent it (as NapCat may have): exactly once, never again
    sent = [s for s in stack.sandbox_get("sent") if "风控测试" in str(s)]
    assert len(sent) == 1
    report = stack.wait_post(lambda b: b.get("post_type") == "send_message")
    assert report["code"] == 1200 and "不重发" in report["info"]
    answer = stack.api("send_group_message", uid=group["uid"], content="恢复")
    assert answer["code"] == 0
    assert len([s for s in stack.sandbox_get("sent") if "风控测试" in str(s)]) == 1


def test_slow_server_send_is_answered_and_not_resent(stack):
    stack.control("onebot/slow", ms=2500, action="send_private_msg")
    friend = stack.world["friends"][0]
    start = time.monotonic()
    answer = stack.api("send_friend_message", id=friend["uid"], content="慢慢来")
    assert time.monotonic() - start < 2.4      # our action timeout (1 s), not the server's delay
    assert answer["code"] == -1 and answer["status"] == "发送失败"
    stack.control("onebot/slow", ms=0, action="send_private_msg")
    # the server handles a connection's actions in turn: the late one goes out first, once
    eventually(lambda: [s for s in stack.sandbox_get("sent") if "慢慢来" in str(s)], timeout=5)
    assert stack.api("send_friend_message", id=friend["uid"], content="快了")["code"] == 0
    assert len([s for s in stack.sandbox_get("sent") if "慢慢来" in str(s)]) == 1


def test_a_refused_token_stops_the_client_with_a_clear_error(tmp_path):
    sandbox = start_sandbox(onebot_token="right-token")
    try:
        config = Config(backend="onebot", onebot_url=f"ws://127.0.0.1:{sandbox.onebot.port}",
                        onebot_token="wrong-token", tmpdir=str(tmp_path), account="badtoken",
                        show_qrcode=False, show_message=False)
        client = Client(config).start()
        try:
            assert client.wait_for_state("stop", 10)
            assert "token" in (client.error or "")
        finally:
            client.stop()
        good = Client(Config(backend="onebot", onebot_url=config.onebot_url, onebot_token="right-token",
                             tmpdir=str(tmp_path), account="goodtoken", show_qrcode=False,
                             show_message=False)).start()
        try:
            assert good.wait_for_state("running", 10)
        finally:
            good.stop()
    finally:
        sandbox.stop()


def test_risk_control_timeouts_in_a_row_make_the_client_check_the_account(tmp_path):
    # The server's status may still say online: send_failure_count_max 1200s in a row reconnect
    # and check the account (a relogin).
    stack = OneBotStack(str(tmp_path), send_failure_count_max=3)
    try:
        logins = len(stack.posts("event", "login"))
        stack.control("onebot/send_timeout", count=3)
        friend = stack.world["friends"][0]
        for i in range(3):
            assert stack.api("send_friend_message", id=friend["uid"], content=f"风控{i}")["code"] == 1200
        # the relogin: a new connection, the account checked, the contacts reloaded
        stack.wait_post(lambda b: b.get("event") == "login" and len(stack.posts("event", "login")) > logins)
        assert stack.client.wait_for_state("running", 10)
        assert stack.api("send_friend_message", id=friend["uid"], content="恢复")["code"] == 0
    finally:
        stack.close()


def test_an_account_offline_at_a_relogin_is_not_running_until_back(tmp_path):
    stack = OneBotStack(str(tmp_path))
    try:
        states = _States(stack)
        stack.control("onebot/offline")
        states.wait("running", "loading")
        # a relogin requested meanwhile (the /openqq/relogin route) waits for the account too
        assert stack.api("relogin")["code"] == 0
        stack.control("onebot/online")
        assert stack.client.wait_for_state("running", 15)
        friend = stack.world["friends"][0]
        assert stack.api("send_friend_message", id=friend["uid"], content="回来了")["code"] == 0
    finally:
        stack.close()
