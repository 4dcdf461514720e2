"""Each example in contrib/examples works against the sandbox over loopback."""

from __future__ import annotations

import threading

import check_event_poller
import embed_blueprint
import post_api_bot
import requests

from openqq_sync.config import Config
from stacks import LiveStack, eventually, serve


def _friend(world):
    names = [f["name"] for f in world["friends"]]
    return next(f for f in world["friends"] if names.count(f["name"]) == 1 and f["uid"])


def test_blueprint_mounted_in_an_existing_app(sandbox, tmp_path):
    config = Config(server=sandbox.url, tmpdir=str(tmp_path), send_interval=0, qrcode_poll_interval=0.05,
                    show_qrcode=False, check_event_timeout=5, threads=16)
    app, client, bp = embed_blueprint.build(config)
    with serve(app) as server:
        client.start()
        try:
            assert client.wait_for_state("running", 20)
            url = server.url
            assert requests.get(url + "/", timeout=5).text == "my existing app"
            assert requests.get(url + "/missing", timeout=5).status_code == 404      # the host's own 404
            user = requests.get(url + "/qq/openqq/get_user_info", timeout=5).json()
            assert user["uid"] == sandbox.world.snapshot()["account"]["uid"]
            r = requests.get(url + "/qq/openqq/nope", timeout=5)
            assert r.status_code == 403 and r.text == "api not found"
            assert requests.post(url + "/qq/openqq/get_user_info", timeout=5).status_code == 403
            friend = _friend(sandbox.world.snapshot())
            sent = requests.get(url + "/qq/openqq/send_friend_message", timeout=10,
                                params={"uid": friend["uid"], "content": "嵌入"}).json()
            assert sent["code"] == 0
            items = requests.get(url + "/qq/openqq/check_event", timeout=10).json()
            assert "嵌入" in [i.get("content") for i in items]
        finally:
            client.stop()
            bp.openqq.delivery.stop(1)


def test_check_event_poller_sees_everything(tmp_path):
    stack = LiveStack(str(tmp_path), receiver=False, check_event_timeout=5)
    try:
        seen = []
        stop = threading.Event()
        t = threading.Thread(target=check_event_poller.poll, args=(stack.url, seen.append),
                             kwargs={"stop": stop}, name="test-poller")
        t.start()
        friend = _friend(stack.world)
        for n in range(5):
            stack.sandbox.world.inject_message("friend_message", friend["uid"], f"轮询 {n}")
        eventually(lambda: sum(1 for i in seen if str(i.get("content", "")).startswith("轮询")) == 5)
        stop.set()
        stack.delivery.buffer.close()       # ends the poller's held call
        t.join(10)
        contents = [i["content"] for i in seen if str(i.get("content", "")).startswith("轮询")]
        assert contents == [f"轮询 {n}" for n in range(5)]
        assert any(i.get("event") == "login" for i in seen)     # retained from before it started
        lines = [check_event_poller.describe(i) for i in seen]
        assert any("轮询 4" in line for line in lines)
    finally:
        stack.close()


def test_post_api_bot_replies_and_mutes_with_signed_posts(tmp_path):
    bot = post_api_bot.create_bot_app(secret="s3cret")
    with serve(bot) as bot_server:
        stack = LiveStack(str(tmp_path), receiver=False, post_secret="s3cret",
                          post_api=bot_server.url + "/post")
        try:
            world = stack.sandbox.world
            friend = _friend(stack.world)
            world.inject_message("friend_message", friend["uid"], "ping")
            eventually(lambda: [s for s in world.sent if s["content"] == "pong" and s["target"] == friend["uid"]])
            group = next(g for g in stack.world["groups"] if g["role"] == "manage")
            member = next(m for m in group["members"]
                          if m["role"] == "member" and m["uid"] != stack.world["account"]["uid"])
            world.inject_message("group_message", member["uid"], "求禁言我", group_uid=group["uid"])
            rec = eventually(lambda: [r for r in world.admin_log if r["action"] == "shutup"])[-1]
            assert rec["member_uid"] == member["uid"] and rec["seconds"] == 60 and rec["ok"]
            # Every post was signed (unsigned ones would have been refused with 401).
            assert any(p.get("content") == "ping" for p in bot.config["received"])
        finally:
            stack.close()
    unsigned = bot.test_client().post("/post", json={"post_type": "receive_message"})
    assert unsigned.status_code == 401
