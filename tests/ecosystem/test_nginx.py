"""The shipped nginx site (contrib/nginx/openqq.conf) in front of the API, with real nginx."""

from __future__ import annotations

import json
import re
import threading
from typing import Any, Dict, List

import pytest
import requests
from ecokit import ManualStack

from nginxkit import SITE, Nginx, find_nginx
from openqq_sync.config import Config
from stacks import Receiver, Request, eventually

NGINX = find_nginx()
pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx not found (apt-get install nginx-light)")


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    """(stack, nginx, bot): the stack's post_api is a bot that also calls the API via nginx."""
    tmp = tmp_path_factory.mktemp("nginx")
    box: Dict[str, Any] = {"bot_calls": []}

    def bot(req: Request):
        item = req.json()
        if item.get("post_type") == "receive_message" and item.get("content") == "ping via nginx":
            # A bot answering through the proxy, as a deployed bot would.
            r = requests.post(box["nginx"].url + "/openqq/send_friend_message", timeout=10,
                              data={"uid": item["sender_uid"], "content": "并且经过 nginx", "async": "1"})
            box["bot_calls"].append(r.json())
            body = json.dumps({"reply": "pong 经过 nginx"}, ensure_ascii=False).encode("utf-8")
            return 200, {"Content-Type": "application/json"}, body
        return 200, {"Content-Type": "text/plain"}, b"ok"

    receiver = Receiver(bot)
    receiver.bot_calls = box["bot_calls"]  # type: ignore[attr-defined]
    stack = ManualStack(str(tmp / "stack"), auto_login=True, post_api=receiver.url, check_event_timeout=10.0)
    host, port = stack.server.address
    nginx = Nginx(NGINX, str(tmp / "nginx"), f"{host}:{port}")
    box["nginx"] = nginx
    try:
        yield stack, nginx, receiver
    finally:
        nginx.stop()
        stack.close()
        receiver.close()


def _seq(stack: ManualStack) -> int:
    return stack.delivery.buffer.last_seq


def test_site_timeouts_outlast_every_held_request():
    with open(SITE, encoding="utf-8") as fh:
        text = fh.read()
    api = text[text.index("location /openqq/"):]
    api = api[:api.index("}")]
    read = int(re.search(r"proxy_read_timeout (\d+)s;", api).group(1))
    defaults = Config()
    assert read > defaults.check_event_timeout and read > defaults.send_timeout
    assert "proxy_buffering off;" in api


def test_send_through_nginx(proxied):
    stack, nginx, _ = proxied
    friend = stack.friend(0)
    r = requests.get(nginx.url + "/openqq/send_friend_message", timeout=30,
                     params={"uid": friend["uid"], "content": "你好 nginx"})
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json;charset=UTF-8"
    answer = r.json()
    assert answer["code"] == 0 and answer["status"] == "发送成功"
    assert any(s["content"] == "你好 nginx" and s["target"] == friend["uid"] for s in stack.sandbox.world.sent)
    # The API's own answers pass unchanged: its 403 for unknown paths, the console, the document.
    assert requests.get(nginx.url + "/openqq/nope", timeout=5).text == "api not found"
    assert requests.get(nginx.url + "/openqq/console/", timeout=5).headers["Content-Type"] == \
        "text/html; charset=utf-8"
    assert requests.get(nginx.url + "/openqq/openapi.json", timeout=5).json()["openapi"] == "3.1.0"
    # A body over the API's 1 MB limit gets the API's JSON 413, not nginx's HTML page.
    big = requests.post(nginx.url + "/openqq/send_friend_message", data={"content": "x" * 1_500_000}, timeout=10)
    assert big.status_code == 413 and big.json()["code"] == 413


def test_check_event_long_poll_through_nginx(proxied):
    stack, nginx, _ = proxied
    since = _seq(stack)
    got: List[Any] = []

    def poll() -> None:
        got.append(requests.get(nginx.url + "/openqq/check_event", params={"since": since}, timeout=30))

    t = threading.Thread(target=poll, name="test-nginx-poll")
    waiters = stack.held_polls()
    t.start()
    # The request is held inside the API (behind nginx) before anything is injected.
    eventually(lambda: stack.held_polls() > waiters, timeout=10)
    friend = stack.friend(1)
    stack.sandbox.world.inject_message("friend_message", friend["uid"], "长轮询 via nginx")
    t.join(20)
    assert not t.is_alive() and got and got[0].status_code == 200
    items = got[0].json()
    assert [i["content"] for i in items if i.get("post_type") == "receive_message"] == ["长轮询 via nginx"]
    assert all(i["seq"] > since for i in items)


def test_post_api_round_trip_through_nginx(proxied):
    stack, nginx, receiver = proxied
    since = _seq(stack)
    friend = stack.friend(2)
    stack.sandbox.world.inject_message("friend_message", friend["uid"], "ping via nginx")
    world = stack.sandbox.world
    eventually(lambda: {"pong 经过 nginx", "并且经过 nginx"} <= {
        s["content"] for s in world.sent if s["target"] == friend["uid"]}, timeout=15)
    assert receiver.wait_for(lambda reqs: any("ping via nginx".encode() in r.body for r in reqs))
    assert receiver.bot_calls == [{"code": 0, "status": "request already in execution"}]
    # Both sends are reported; a cursor read through nginx sees them in order.
    seen: List[str] = []

    def more() -> bool:
        r = requests.get(nginx.url + "/openqq/check_event", params={"since": since}, timeout=30)
        seen[:] = [i["content"] for i in r.json() if i.get("post_type") == "send_message"]
        return {"pong 经过 nginx", "并且经过 nginx"} <= set(seen)

    eventually(more, timeout=15)
