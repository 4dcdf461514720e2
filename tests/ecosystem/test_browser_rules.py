"""Issue 17: a page of another site in headless Chromium can neither send through the API nor
read it (default set-up: loopback, no token), while the console on the API's own origin works.

The page is served as ``http://evil.test:<port>/`` (Chromium resolves that name to 127.0.0.1),
so it is another site exactly as a page on the internet would be.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

import pytest
import requests

from browser import Chromium, find_chromium

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install chromium)")


class _Page(BaseHTTPRequestHandler):
    html = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.html)))
        self.end_headers()
        self.wfile.write(self.html)

    def log_message(self, *args) -> None:
        pass


def _serve_page(html: str):
    handler = type("Page", (_Page,), {"html": html.encode("utf-8")})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="test-evil-page", daemon=True)
    thread.start()
    return server, thread


def _sent_contents(stack):
    r = requests.get(stack.sandbox.url + "/sandbox/sent", timeout=5)
    assert r.status_code == 200
    return [s["content"] for s in r.json()]


def test_a_page_of_another_site_sends_and_reads_nothing_but_the_console_works(manual_stack, tmp_path):
    stack = manual_stack
    stack.login()
    friend = stack.snapshot()["friends"][0]
    api = stack.url
    send_url = f"{api}/openqq/send_friend_message?uid={friend['uid']}&content={quote('图片里的请求')}"
    page = (f'<!doctype html><meta charset="utf-8"><title>evil</title>'
            f'<img id="shot" src="{send_url}">')
    server, thread = _serve_page(page)
    evil = f"http://evil.test:{server.server_address[1]}/"
    try:
        with Chromium(CHROMIUM, str(tmp_path / "profile"),
                      extra_args=["--host-resolver-rules=MAP evil.test 127.0.0.1"]) as browser:
            browser.navigate(evil)
            assert browser.evaluate("location.origin") == evil.rstrip("/")
            # The image request was made and answered (refused): it never turns into an image.
            browser.wait_for("document.getElementById('shot').complete")
            assert browser.evaluate("document.getElementById('shot').naturalWidth") == 0
            attempts = browser.evaluate("""(async () => {
                const out = {};
                try { const r = await fetch(%s); out.read = await r.text(); }
                catch (e) { out.read_error = String(e); }
                try {
                    await fetch(%s, {method: 'POST', mode: 'no-cors',
                                     body: new URLSearchParams({uid: '%s', content: '表单式的请求'})});
                    out.post = 'sent';
                } catch (e) { out.post_error = String(e); }
                return out;
            })()""" % (json.dumps(api + "/openqq/get_friend_info"),
                       json.dumps(api + "/openqq/send_friend_message"), friend["uid"]))
            # fetch() reads nothing: the answer is a 403 without a CORS allowance.
            assert "read" not in attempts and "TypeError" in attempts["read_error"], attempts
            # The no-cors POST is sent by the browser, and refused by the API.
            assert attempts.get("post") == "sent", attempts
            assert "图片里的请求" not in _sent_contents(stack)
            assert "表单式的请求" not in _sent_contents(stack)

            # The console, on the API's own origin, still reads and sends.
            browser.navigate(api + "/openqq/console/")
            browser.wait_for("document.getElementById('state').textContent === 'running'")
            browser.evaluate("(() => { const f = document.getElementById('send-form');"
                             " document.getElementById('send-type').value = 'friend';"
                             " document.getElementById('send-target').value = %s;"
                             " document.getElementById('send-content').value = '控制台照常';"
                             " f.requestSubmit(); return true; })()" % json.dumps(str(friend["uid"])))
            browser.wait_for("document.getElementById('send-result').textContent === 'sent'")
        assert "控制台照常" in _sent_contents(stack)
        # And the two refusals were real answers of the API, not requests the browser dropped.
        r = requests.get(send_url, headers={"Origin": "http://evil.test", "Sec-Fetch-Site": "cross-site"}, timeout=5)
        assert r.status_code == 403 and r.json()["option"] == "--cors-origins"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
