"""Issue 17: the Controller API keeps the browser rules of the single-account API."""

from __future__ import annotations

import contextlib

import requests

from openqq_sync.controller.app import create_controller_app
from openqq_sync.controller.state import Files
from openqq_sync.controller.supervisor import Supervisor
from openqq_sync.web import ApiServer


@contextlib.contextmanager
def controller(tmp_path, **kw):
    files = Files(str(tmp_path))
    app = create_controller_app(Supervisor(files, defaults={}), files, **kw)
    server = ApiServer(app, host="127.0.0.1", port=0, threads=4, name="test-controller-http").start()
    try:
        yield server.url
    finally:
        server.stop()


def check(url, method="GET", **headers):
    return requests.request(method, url + "/openqq/check_client", headers=headers, timeout=5)


def test_without_a_token(tmp_path):
    with controller(tmp_path, cors_origins=["https://app.example"], allowed_hosts=["ctl.example"]) as url:
        r = check(url)
        assert r.status_code == 200 and r.json() == {"code": 0, "client": []}
        assert "Access-Control-Allow-Origin" not in r.headers
        assert check(url, Host="ctl.example:4000").status_code == 200
        for headers, option in [({"Host": "rebind.example"}, "--allowed-hosts"),
                                ({"Origin": "https://evil.example"}, "--cors-origins"),
                                ({"Sec-Fetch-Site": "cross-site"}, "--cors-origins")]:
            for method in ("GET", "POST", "OPTIONS"):
                r = check(url, method, **headers)
                assert r.status_code == 403 and r.json()["option"] == option, (headers, method)
                assert "Access-Control-Allow-Origin" not in r.headers
            # start_client and stop_client are GETs in the original: a page cannot reach them.
            r = requests.get(url + "/openqq/start_client?client=x", headers=headers, timeout=5)
            assert r.status_code == 403
        r = check(url, Origin="https://app.example", **{"Sec-Fetch-Site": "cross-site"})
        assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == "https://app.example"


def test_with_a_token(tmp_path):
    with controller(tmp_path, token="c-tok") as url:
        for headers in [{}, {"Origin": "https://evil.example"}, {"Host": "rebind.example"}]:
            r = check(url, **headers)
            assert r.status_code == 401 and r.headers["Access-Control-Allow-Origin"] == "*"
            r = check(url, Authorization="Bearer c-tok", **headers)
            assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == "*"
