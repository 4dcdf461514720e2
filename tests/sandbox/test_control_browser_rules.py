"""Issue 17: the sandbox's control API answers only loopback Hosts (or --allowed-hosts), no page
of another site, and bodies sent as JSON; the SmartQQ routes are untouched."""

from __future__ import annotations

import json

import requests

from openqq_sync.sandbox.accounts import MultiSandbox


def _message(sandbox):
    friend = sandbox.world.snapshot()["friends"][0]
    return {"type": "friend_message", "sender_uid": friend["uid"], "content": "你好"}


def test_foreign_hosts_and_other_sites_are_refused(sandbox):
    url = sandbox.url
    for headers in [{"Host": "rebind.evil.example"}, {"Origin": "http://evil.example"},
                    {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}]:
        for method, path, kw in [("GET", "/sandbox/world", {}), ("GET", "/sandbox/sent", {}),
                                 ("POST", "/sandbox/message", {"json": _message(sandbox)}),
                                 ("POST", "/sandbox/kick", {}), ("POST", "/sandbox/onebot/drop", {})]:
            r = requests.request(method, url + path, headers=headers, timeout=5, **kw)
            assert r.status_code == 403, (headers, path, r.text)
            assert "option" in r.json() and "Access-Control-Allow-Origin" not in r.headers
    # Scripts on loopback are answered; the same origin too.
    own = {"Origin": url, "Sec-Fetch-Site": "same-origin", "Host": url.split("//", 1)[1]}
    assert requests.get(url + "/sandbox/world", headers=own, timeout=5).status_code == 200
    r = requests.post(url + "/sandbox/message", json=_message(sandbox), timeout=5)
    assert r.status_code == 200 and "msg_id" in r.json()


def test_a_body_must_be_json(sandbox):
    url, body = sandbox.url, _message(sandbox)
    raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
    for ctype in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None]:
        headers = {"Content-Type": ctype} if ctype else {}
        r = requests.post(url + "/sandbox/message", data=raw, headers=headers, timeout=5)
        assert r.status_code == 415, (ctype, r.text)
        assert "application/json" in r.json()["error"]
    sent = requests.post(url + "/sandbox/message", data=raw,
                         headers={"Content-Type": "application/json; charset=utf-8"}, timeout=5)
    assert sent.status_code == 200 and "msg_id" in sent.json()
    # A verb without a body needs no type (curl -X POST .../sandbox/scan).
    assert requests.post(url + "/sandbox/scan", timeout=5).status_code == 200


def test_smartqq_routes_take_any_host(sandbox):
    r = requests.get(sandbox.url + "/ptqrshow?appid=1&e=0&l=M&s=3&d=72&v=4&t=0.1",
                     headers={"Host": "ssl.ptlogin2.qq.com"}, timeout=5)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("image/")


def test_allowed_hosts_and_the_accounts_router():
    srv = MultiSandbox(2, host="127.0.0.1", port=0, allowed_hosts=["sandbox.lan"]).start()
    try:
        for path in ["/sandbox/accounts", "/sandbox/accounts/2/world", "/sandbox/world"]:
            assert requests.get(srv.url + path, headers={"Host": "sandbox.lan:9000"}, timeout=5).status_code == 200
            r = requests.get(srv.url + path, headers={"Host": "rebind.example"}, timeout=5)
            assert r.status_code == 403 and r.json()["option"] == "--allowed-hosts", path
        r = requests.post(srv.url + "/sandbox/accounts/2/next", headers={"Origin": "http://evil.example"}, timeout=5)
        assert r.status_code == 403
        r = requests.post(srv.url + "/sandbox/accounts/2/next", timeout=5)
        assert r.json() == {"next": srv.worlds[1].data.account.qq}
    finally:
        srv.stop()
