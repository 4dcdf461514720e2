"""The web console through ``openqq controller``: ``/openqq/console/?client=NAME`` is served by
the controller without the token, and the page, in headless Chromium, drives that one account
(its calls carry ``client=NAME``): it asks for the controller's token, shows the account and its
friends, follows its events through the long poll, and sends from it."""

from __future__ import annotations

import json
import os
import signal

import pytest
import requests
from ctlkit import Controller, children_of

from browser import Chromium, find_chromium

CHROMIUM = find_chromium()
# ASCII: fetch() cannot put other characters in a header, so the console cannot send them.
TOKEN = "console-ctl-t0ken"
FILES = {"": "text/html; charset=utf-8", "console.js": "text/javascript; charset=utf-8",
         "console.css": "text/css; charset=utf-8"}


@pytest.fixture(scope="module")
def ctl(tmp_path_factory, sandbox2):
    tmp = str(tmp_path_factory.mktemp("console"))
    c = Controller(tmp, "--server", sandbox2.url, "--qrcode-poll-interval", "0.2", "--send-interval", "0",
                   env={"OPENQQ_TOKEN": TOKEN})
    try:
        # Account 2 is reserved for alice (the sandbox's convention); bob gets account 1.
        requests.post(sandbox2.url + "/sandbox/accounts/2/next", timeout=5).raise_for_status()
        assert c.get("start_client", client="alice").json()["code"] == 0
        c.wait_state("alice", "running")
        assert c.get("start_client", client="bob").json()["code"] == 0
        c.wait_state("bob", "running")
        yield c
    finally:
        c.close()
        leftover = children_of(tmp)
        for pid in leftover:
            os.kill(pid, signal.SIGKILL)
        assert not leftover, "clients outlived their controller"


def test_the_console_files_load_through_the_controller_without_the_token(ctl):
    for name, mimetype in FILES.items():
        r = requests.get(f"{ctl.url}/openqq/console/{name}?client=alice", timeout=5)
        assert r.status_code == 200 and r.headers["Content-Type"] == mimetype, (name, r.text[:200])
        assert "connect-src 'self'" in r.headers["Content-Security-Policy"]
        assert requests.get(f"{ctl.url}/openqq/console/{name}", timeout=5).status_code == 200
    # Only the console's own files are public: the API behind it still needs the token.
    assert requests.get(ctl.url + "/openqq/console/other.js?client=alice", timeout=5).status_code == 401
    assert requests.get(ctl.url + "/openqq/get_user_info?client=alice", timeout=5).status_code == 401
    # The controller has no home page: which account would it show?
    r = requests.get(ctl.url + "/", headers={"Authorization": f"Bearer {TOKEN}".encode()}, timeout=5)
    assert r.status_code == 403 and r.json() == {"code": -1, "status": "api not found"}


def _js(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def _text(element_id: str) -> str:
    return f"document.getElementById({_js(element_id)}).textContent"


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install chromium)")
def test_the_console_drives_the_account_its_client_names(ctl, sandbox2, tmp_path):
    alice_world, bob_world = sandbox2.worlds[1], sandbox2.worlds[0]
    alice_qq, bob_qq = alice_world.data.account.qq, bob_world.data.account.qq
    friends = ctl.get("get_friend_info", client="alice").json()
    friend = friends[0]
    sent_before = len(bob_world.sent)
    with Chromium(CHROMIUM, str(tmp_path / "profile")) as browser:
        browser.navigate(f"{ctl.url}/openqq/console/?client=alice")
        # The controller wants its token: the console asks for it and sends it as before.
        browser.wait_for("!document.getElementById('token-form').hidden")
        browser.evaluate("document.getElementById('token-input').value = %s;"
                         " document.getElementById('token-form').requestSubmit(); true" % _js(TOKEN))
        browser.wait_for(f"{_text('state')} === 'running'")
        browser.wait_for(f"{_text('account')}.includes({_js(str(alice_qq))})")
        browser.wait_for(f"{_text('count-friends')} === {_js(str(len(friends)))}")
        assert str(bob_qq) not in browser.evaluate(_text("account"))

        # A message to alice's account arrives through the long poll the page holds.
        alice_world.inject_message("friend_message", friend["uid"], "经由控制器的消息")
        browser.wait_for(f"{_text('events')}.includes('经由控制器的消息')")

        # A send from the page leaves from alice's account, not bob's.
        browser.evaluate("(() => { document.getElementById('send-type').value = 'friend';"
                         " document.getElementById('send-target').value = %s;"
                         " document.getElementById('send-content').value = '控制台经由控制器';"
                         " document.getElementById('send-form').requestSubmit(); return true; })()"
                         % _js(str(friend["uid"])))
        browser.wait_for(f"{_text('send-result')} === 'sent'")
        assert "控制台经由控制器" in [s["content"] for s in alice_world.sent]
        assert len(bob_world.sent) == sent_before

        # Every API call the page made named its client (the long poll and the send among them).
        calls = browser.evaluate("performance.getEntriesByType('resource').map((e) => e.name)"
                                 ".filter((u) => u.includes('/openqq/') && !u.includes('/openqq/console/'))")
        paths = {call.split("?")[0].rsplit("/", 1)[1] for call in calls}
        assert {"get_client_info", "get_user_info", "get_friend_info", "check_event",
                "send_friend_message"} <= paths, calls
        assert [c for c in calls if "client=alice" not in c.split("?", 1)[-1].split("&")] == []
        assert browser.evaluate("document.getElementById('openapi').href").endswith("/openapi.json?client=alice")

        # The same page for bob shows bob's account (the token is kept for the tab).
        browser.navigate(f"{ctl.url}/openqq/console/?client=bob")
        browser.wait_for(f"{_text('account')}.includes({_js(str(bob_qq))})")

        # Without a client the page says what the controller answers.
        browser.navigate(f"{ctl.url}/openqq/console/")
        browser.wait_for(f"{_text('state')} === 'client not found'")
