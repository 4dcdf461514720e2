"""The web console in headless Chromium against the demo-like stack (sandbox, real Client, API).

Set ``OPENQQ_CONSOLE_SCREENSHOT=docs/console.png`` to also write the screenshot the docs show.
"""

from __future__ import annotations

import json
import os

import pytest
import requests

from browser import Chromium, find_chromium
from stacks import StubClient, stub_api

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install chromium)")


def _js(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _visible(element_id: str) -> str:
    """Shown on screen, not merely lacking the hidden attribute (CSS can override it)."""
    return f"getComputedStyle(document.getElementById('{element_id}')).display !== 'none'"


def _events_contain(text: str) -> str:
    return f"document.getElementById('events').textContent.includes({_js(text)})"


def test_console_shows_qr_then_account_then_messages(manual_stack, tmp_path):
    stack = manual_stack
    with Chromium(CHROMIUM, str(tmp_path / "profile")) as browser:
        browser.navigate(stack.url + "/openqq/console/")
        # While scanning: the QR image is shown, decoded from the PNG the client holds.
        browser.wait_for(_visible("qr-card") + " && document.getElementById('qrcode').naturalWidth > 0")
        assert browser.evaluate("document.getElementById('state').textContent") == "scaning"
        assert browser.evaluate("document.getElementById('qrcode').src").startswith("blob:")
        assert not browser.evaluate(_visible("token-form"))  # no token configured
        assert browser.evaluate("document.getElementById('send-button').disabled") is True
        target = os.environ.get("OPENQQ_CONSOLE_SCREENSHOT")
        if target:
            browser.screenshot(target.replace(".png", "-login.png"))

        # An expired code is replaced by the client; the console swaps the image by itself.
        old_src, old_png = browser.evaluate("document.getElementById('qrcode').src"), stack.client.qrcode
        assert stack.sandbox.world.expire_qrcode() == 1
        browser.wait_for(f"document.getElementById('qrcode').src !== {_js(old_src)}"
                         " && document.getElementById('qrcode').naturalWidth > 0")
        assert stack.client.qrcode != old_png and stack.client.state == "scaning"

        stack.login()
        account = stack.snapshot()["account"]
        browser.wait_for(f"document.getElementById('account').textContent.includes({_js(account['name'])})")
        browser.wait_for("!" + _visible("qr-card"))
        browser.wait_for("document.getElementById('state').textContent === 'running'")
        assert browser.evaluate("document.getElementById('send-button').disabled") is False
        world = stack.snapshot()
        browser.wait_for(f"document.getElementById('count-friends').textContent === '{len(world['friends'])}'")
        assert browser.evaluate("document.getElementById('count-groups').textContent") == str(len(world["groups"]))
        assert browser.evaluate("document.getElementById('count-discusses').textContent") == \
            str(len(world["discusses"]))

        friend, group = world["friends"][0], world["groups"][0]
        member = next(m for m in group["members"] if m["uid"] != account["uid"])
        stack.sandbox.world.inject_message("friend_message", friend["uid"], "在吗? 晚上一起打球")
        stack.sandbox.world.inject_message("group_message", member["uid"], "明天 <b>8 点</b> 集合 [微笑]",
                                           group_uid=group["uid"])
        browser.wait_for(_events_contain("在吗? 晚上一起打球"))
        browser.wait_for(_events_contain("明天 <b>8 点</b> 集合"))
        # Message text is shown as text, never parsed as markup.
        assert browser.evaluate("document.querySelectorAll('#events b').length") == 0
        assert browser.evaluate(_events_contain(group["markname"] or group["name"]))

        # The send box: to a group by its name, to a friend by QQ number.
        send = ("(() => { const f = document.getElementById('send-form');"
                " document.getElementById('send-type').value = %s;"
                " document.getElementById('send-target').value = %s;"
                " document.getElementById('send-content').value = %s;"
                " f.requestSubmit(); return true; })()")
        browser.evaluate(send % (_js("group"), _js(group["markname"] or group["name"]), _js("收到, 8 点见")))
        browser.wait_for("document.getElementById('send-result').textContent === 'sent'")
        browser.evaluate(send % (_js("friend"), _js(str(friend["uid"])), _js("好啊, 几点?")))
        browser.wait_for("document.getElementById('send-result').textContent === 'sent'"
                         " && document.getElementById('send-content').value === ''")
        sent = stack.sandbox.world.sent
        assert any(s["content"] == "收到, 8 点见" and s["type"] == "group_message" for s in sent)
        assert any(s["content"] == "好啊, 几点?" and s["type"] == "friend_message" for s in sent)
        browser.wait_for(_events_contain("好啊, 几点?"))  # outgoing shows too

        shot = tmp_path / "console.png"
        browser.screenshot(str(shot))
        assert shot.read_bytes().startswith(b"\x89PNG")
        if target:
            browser.screenshot(target)

    # The console reads with since=, so the drain buffer still holds everything for others.
    drained = requests.get(stack.url + "/openqq/check_event", timeout=10).json()
    contents = [item.get("content") for item in drained]
    assert "在吗? 晚上一起打球" in contents and "好啊, 几点?" in contents


def test_console_asks_for_the_token_and_sends_it_as_bearer(tmp_path):
    client = StubClient("init", account="tok")
    with stub_api(client, token="console-t0ken") as (server, _, _app):
        with Chromium(CHROMIUM, str(tmp_path / "profile")) as browser:
            browser.navigate(server.url + "/openqq/console/")
            browser.wait_for(_visible("token-form"))
            browser.evaluate("document.getElementById('token-input').value = 'wrong';"
                             "document.getElementById('token-form').requestSubmit(); true")
            browser.wait_for("document.getElementById('token-error').textContent.includes('refused')")
            browser.evaluate("document.getElementById('token-input').value = 'console-t0ken';"
                             "document.getElementById('token-form').requestSubmit(); true")
            browser.wait_for("document.getElementById('state').textContent === 'init'")
            assert not browser.evaluate(_visible("token-form"))


def test_console_follows_a_restarted_server(tmp_path):
    """A restarted process numbers its events from 1 again: the console notices the new
    pid@starttime, starts its cursor over and shows the new process's events."""
    from openqq_sync.web import ApiServer, create_app
    from stacks import config

    def app_for(starttime: int):
        client = StubClient("init")
        client.starttime = starttime
        return create_app(client, config(tmp_path), _stop_delay=0.05)

    first = app_for(1_000_000)
    server = ApiServer(first, host="127.0.0.1", port=0, threads=16, name="test-openqq-http").start()
    port = server.port
    second = None
    try:
        for n in range(3):
            first.extensions["openqq_sync"].delivery.emit(
                {"post_type": "event", "event": "new_friend", "params": [{"name": f"旧好友{n}"}]}, drain=True)
        with Chromium(CHROMIUM, str(tmp_path / "profile")) as browser:
            browser.navigate(f"http://127.0.0.1:{port}/openqq/console/")
            browser.wait_for(_events_contain("旧好友2"))
            server.stop()
            first.extensions["openqq_sync"].delivery.stop(0.5)
            second = app_for(2_000_000)
            server = ApiServer(second, host="127.0.0.1", port=port, threads=16, name="test-openqq-http").start()
            second.extensions["openqq_sync"].delivery.emit(
                {"post_type": "event", "event": "new_friend", "params": [{"name": "新好友"}]}, drain=True)
            browser.wait_for(_events_contain("新好友"), timeout=20)
            assert browser.evaluate(_events_contain("the server restarted"))
    finally:
        server.stop()
        first.extensions["openqq_sync"].delivery.stop(0.5)
        if second is not None:
            second.extensions["openqq_sync"].delivery.stop(0.5)
