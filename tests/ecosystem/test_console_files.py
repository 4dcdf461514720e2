"""The console's files: public even with a token, self-contained, served with a strict CSP."""

from __future__ import annotations

import re

import requests

from stacks import StubClient, stub_api

FILES = {"/openqq/console/": "text/html; charset=utf-8",
         "/openqq/console/console.js": "text/javascript; charset=utf-8",
         "/openqq/console/console.css": "text/css; charset=utf-8"}


def test_console_files_need_no_token_but_the_api_still_does():
    with stub_api(StubClient("init"), token="t") as (server, _, _app):
        for path, ctype in FILES.items():
            r = requests.get(server.url + path, timeout=5)
            assert r.status_code == 200 and r.headers["Content-Type"] == ctype, path
            assert "default-src 'self'" in r.headers["Content-Security-Policy"]
            assert r.headers["X-Content-Type-Options"] == "nosniff"
        # Only the exact console files are public: neighbours and the API are not.
        # (401 or the 403 "api not found": either way nothing is served without the token)
        assert requests.get(server.url + "/openqq/console/other.js", timeout=5).status_code in (401, 403)
        assert requests.post(server.url + "/openqq/console/", timeout=5).status_code in (401, 403)
        assert requests.get(server.url + "/openqq/get_client_info", timeout=5).status_code == 401


def test_console_loads_nothing_from_elsewhere():
    with stub_api(StubClient("init")) as (server, _, _app):
        bodies = {p: requests.get(server.url + p, timeout=5).text for p in FILES}
    for path, text in bodies.items():
        # No absolute URL (http:, https:, protocol-relative) anywhere in the console.
        assert not re.search(r"""(https?:)?//[a-z0-9.-]+\.[a-z]{2,}""", text, re.I), path
    html = bodies["/openqq/console/"]
    assert re.findall(r'(?:src|href)="([^"]+)"', html) == ["console.css", "console.js", "../openapi.json"]
    assert "<script>" not in html and " style=" not in html   # nothing inline: the CSP forbids it
