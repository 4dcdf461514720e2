"""The OneBot face over each transport with a plain ``websockets`` / HTTP client: tokens,
paths, the HTTP API, the reverse WebSocket, signed HTTP POST, and the faults."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import threading
import time

import pytest
import requests
from websockets.exceptions import ConnectionClosedError
from websockets.sync.client import connect
from websockets.sync.server import serve

from .conftest import Control, Inbox, start_sandbox


def ws(port: int, path: str = "/", **kw):
    return connect("ws://127.0.0.1:%d%s" % (port, path), proxy=None, open_timeout=5, **kw)


def recv_json(conn, timeout: float = 5.0):
    return json.loads(conn.recv(timeout))


_NO_ECHO = object()


def call(conn, action, echo=_NO_ECHO, **params):
    frame = {"action": action, "params": params}
    if echo is not _NO_ECHO:
        frame["echo"] = echo
    conn.send(json.dumps(frame))
    while True:
        got = recv_json(conn)
        if "post_type" not in got:
            return got


def until(conn, pred, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while True:
        got = recv_json(conn, max(0.01, deadline - time.monotonic()))
        if pred(got):
            return got


def http_session() -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    return s


@pytest.fixture
def tokened():
    srv = start_sandbox(onebot_port=0, onebot_http_port=0, onebot_token="t0k")
    try:
        yield srv
    finally:
        srv.stop()


def test_ws_token_refused_as_napcat_does(tokened):
    with ws(tokened.onebot.port) as c:
        refusal = recv_json(c)
        assert (refusal["status"], refusal["retcode"]) == ("failed", 1403)
        with pytest.raises(Exception):
            c.recv(5)
    with ws(tokened.onebot.port, "/?access_token=t0k") as c:
        assert recv_json(c)["meta_event_type"] == "lifecycle"
    with ws(tokened.onebot.port, additional_headers={"Authorization": "Bearer t0k"}) as c:
        assert recv_json(c)["sub_type"] == "connect"


def test_http_api_token_forms_and_errors(tokened):
    base = "http://127.0.0.1:%d" % tokened.onebot.http_port
    h = http_session()
    r = h.get(base + "/get_login_info")
    assert r.status_code == 403 and r.json() == {"message": "token verify failed!"}
    auth = {"Authorization": "Bearer t0k"}
    me = tokened.world.data.account.qq
    assert h.get(base + "/get_login_info?access_token=t0k").json()["data"]["user_id"] == me
    gid = 749757304
    r = h.get(base + "/get_group_info", params={"group_id": gid, "echo": "e1"}, headers=auth).json()
    assert (r["status"], r["data"]["group_id"], r["echo"]) == ("ok", gid, "e1")
    r = h.post(base + "/get_group_info", data={"group_id": str(gid)}, headers=auth).json()
    assert r["data"]["group_name"] == tokened.world.data.groups[gid].name
    r = h.post(base + "/get_group_info", json={"group_id": gid, "echo": {"seq": 7}}, headers=auth).json()
    assert r["echo"] == {"seq": 7}
    r = h.post(base + "/no_such_action", json={}, headers=auth)
    assert r.status_code == 404 and r.json()["retcode"] == 1404
    r = h.post(base + "/get_group_info", data=b"{not json", headers=dict(auth, **{"Content-Type": "application/json"}))
    assert r.status_code == 400
    r = h.post(base + "/get_group_info", json={"group_id": "abc"}, headers=auth).json()
    assert (r["status"], r["retcode"]) == ("failed", 400)
    friend = next(iter(tokened.world.data.friends))
    r = h.post(base + "/send_msg", json={"user_id": friend, "message": {"type": "text", "data": {"text": "单段"}}},
               headers=auth).json()
    assert r["status"] == "ok"
    assert Control(tokened.url).get("/sandbox/sent")[-1]["content"] == "单段"


def test_paths_echo_types_and_string_format(sandbox_ob):
    ctl = Control(sandbox_ob.url)
    friend = next(iter(sandbox_ob.world.data.friends))
    with ws(sandbox_ob.onebot.port, "/api") as api, ws(sandbox_ob.onebot.port, "/event") as events:
        assert recv_json(events)["sub_type"] == "connect"
        for echo in ("1", 7, {"seq": 3}, [1, "a"], None):
            assert call(api, "get_status", echo=echo)["echo"] == echo
        assert "echo" not in call(api, "get_status")
        ctl.post("/sandbox/message", type="friend_message", sender_uid=friend, content="to /event only")
        ev = until(events, lambda e: e.get("post_type") == "message")
        assert ev["raw_message"] == "to /event only"
        api.send("{bad json")
        assert recv_json(api)["retcode"] == 1400
        with pytest.raises(TimeoutError):
            api.recv(0.3)  # /api gets no events, heartbeats nor lifecycle


def test_string_message_format():
    srv = start_sandbox(onebot_port=0, onebot_message_format="string")
    try:
        friend = next(iter(srv.world.data.friends))
        with ws(srv.onebot.port) as c:
            recv_json(c)
            srv.world.inject_message("friend_message", friend, "a[b] [微笑]")
            ev = until(c, lambda e: e.get("post_type") == "message")
            assert ev["message"] == ev["raw_message"] == "a&#91;b&#93; [CQ:face,id=14]"
            assert ev["message_format"] == "string"
    finally:
        srv.stop()


def test_faults_drop_heartbeat_timeout_slow(sandbox_ob):
    ctl = Control(sandbox_ob.url)
    port = sandbox_ob.onebot.port
    friend = next(iter(sandbox_ob.world.data.friends))
    with ws(port) as c:
        until(c, lambda e: e.get("meta_event_type") == "heartbeat")
        ctl.post("/sandbox/onebot/heartbeat", on=False)
        off = time.monotonic()
        while True:
            try:
                got = recv_json(c, 0.6)
            except TimeoutError:
                break  # three intervals without a heartbeat
            # Only one already on its way when the verb answered may still arrive.
            assert got.get("meta_event_type") != "heartbeat" or time.monotonic() - off < 0.1, got
        ctl.post("/sandbox/onebot/heartbeat", on=True)
        until(c, lambda e: e.get("meta_event_type") == "heartbeat")

        ctl.post("/sandbox/onebot/send_timeout", count=1)
        r = call(c, "send_private_msg", user_id=friend, message="风控")
        assert (r["status"], r["retcode"]) == ("failed", 1200) and "sendMsg" in r["message"]
        assert ctl.get("/sandbox/sent")[-1]["content"] == "风控"  # sent all the same
        assert call(c, "send_private_msg", user_id=friend, message="again")["retcode"] == 0

        ctl.post("/sandbox/onebot/slow", ms=300, action="get_status")
        t0 = time.monotonic()
        assert call(c, "get_status")["status"] == "ok"
        assert time.monotonic() - t0 >= 0.3
        assert ctl.post("/sandbox/onebot/drop")["dropped"] == 1
        with pytest.raises(ConnectionClosedError) as e:
            while True:
                c.recv(5)
        assert e.value.rcvd is None  # no close frame


def test_world_kick_is_bot_offline(sandbox_ob):
    with ws(sandbox_ob.onebot.port) as c:
        recv_json(c)
        Control(sandbox_ob.url).post("/sandbox/kick")
        ev = until(c, lambda e: e.get("notice_type") == "bot_offline")
        assert ev["user_id"] == sandbox_ob.world.data.account.qq
        assert call(c, "get_status")["data"]["online"] is False


def test_reverse_ws_headers_actions_and_reconnect():
    inbox = Inbox()
    conns = Inbox()

    def bot(conn):
        conns.add(conn.request.headers)
        try:
            inbox.add(json.loads(conn.recv(5)))
            conn.send(json.dumps({"action": "get_login_info", "echo": "r1"}))
            for raw in conn:
                inbox.add(json.loads(raw))
        except Exception:
            pass

    with serve(bot, "127.0.0.1", 0) as server:
        th = threading.Thread(target=server.serve_forever, name="test-reverse-bot", daemon=True)
        th.start()
        url = "ws://127.0.0.1:%d/onebot/v11/ws" % server.socket.getsockname()[1]
        srv = start_sandbox(onebot_reverse_ws=url, onebot_token="rt")
        srv.onebot.reconnect_ms = 100
        try:
            h = conns.wait(lambda h: True)
            assert h["X-Self-ID"] == str(srv.world.data.account.qq)
            assert h["X-Client-Role"] == "Universal" and h["Authorization"] == "Bearer rt"
            inbox.wait(lambda e: e.get("sub_type") == "connect")
            got = inbox.wait(lambda e: e.get("echo") == "r1")
            assert got["data"]["user_id"] == srv.world.data.account.qq
            Control(srv.url).post("/sandbox/onebot/drop")
            conns.wait(lambda h: len(conns.items) >= 2)  # it came back after the interval
        finally:
            srv.stop()
        server.shutdown()
        th.join(5)


def test_http_post_signed():
    inbox = Inbox()

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            inbox.add((self.headers, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *a):
            pass

    rx = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
    th = threading.Thread(target=rx.serve_forever, name="test-post-receiver", daemon=True)
    th.start()
    srv = start_sandbox(onebot_post="http://127.0.0.1:%d/" % rx.server_address[1], onebot_token="k")
    try:
        friend = next(iter(srv.world.data.friends))
        srv.world.inject_message("friend_message", friend, "签名")
        headers, body = inbox.wait(lambda i: b"\xe7\xad\xbe\xe5\x90\x8d" in i[1])
        assert headers["X-Self-ID"] == str(srv.world.data.account.qq)
        assert headers["X-Signature"] == "sha1=" + hmac.new(b"k", body, hashlib.sha1).hexdigest()
        assert json.loads(body)["message_type"] == "private"
    finally:
        srv.stop()
        rx.shutdown()
        rx.server_close()
        th.join(5)


def test_faces_cross_by_name_to_smartqq(sandbox_ob):
    # A OneBot face segment injected into the world reaches SmartQQ with SmartQQ's own id.
    from openqq_sync.sandbox._content import to_wire
    wire = to_wire([{"type": "face", "data": {"id": "85"}}, {"type": "face", "data": {"id": "9999"}}])
    assert wire[1:] == [["face", 21], "[表情]"]  # NT 85 is 飞吻, SmartQQ's 21
