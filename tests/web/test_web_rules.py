"""Request rules common to every route, over loopback HTTP (protocol doc 11.2; issue 4 item 2,
issue 6 bad input/security). The client is a stand-in: none of this needs a login."""

from __future__ import annotations

import json

import pytest
import requests

from stacks import StubClient, stub_api

JSON_TYPE = "application/json;charset=UTF-8"


@pytest.fixture
def api():
    with stub_api(StubClient(state="scaning")) as (server, client, app):
        yield server.url, client


def test_unknown_route_and_wrong_method_answer_403_text(api):
    url, _ = api
    for method, path in [("GET", "/openqq/nope"), ("POST", "/"), ("GET", "/foo/bar"),
                         ("POST", "/openqq/get_user_info"), ("DELETE", "/openqq/check_event"),
                         ("POST", "/openqq/relogin"), ("GET", "/openqq/"), ("PUT", "/openwx/x")]:
        r = requests.request(method, url + path, timeout=5)
        assert r.status_code == 403, (method, path)
        assert r.text == "api not found"
        assert r.headers["Content-Type"] == "text/html;charset=UTF-8"
        assert "Access-Control-Allow-Origin" not in r.headers   # no token, no listed origin


def test_home_redirects_to_the_web_console(api):
    """Issue 13 item 4: ``GET /`` leads a browser to the console instead of a bare 403."""
    url, _ = api
    r = requests.get(url + "/", allow_redirects=False, timeout=5)
    assert r.status_code == 302
    assert r.headers["Location"] == "/openqq/console/"
    followed = requests.get(url + "/", timeout=5)
    assert followed.status_code == 200 and followed.url == url + "/openqq/console/"
    assert followed.headers["Content-Type"].startswith("text/html")


def test_options_is_a_cors_preflight_everywhere(api):
    url, _ = api
    for path in ["/openqq/send_friend_message", "/openqq/unknown", "/anything"]:
        r = requests.options(url + path, timeout=5)
        assert r.status_code == 200
        assert r.content == b""
        assert "Access-Control-Allow-Origin" not in r.headers   # no token, no listed origin
        assert r.headers["Access-Control-Allow-Methods"] == "OPTIONS, HEAD, GET, POST"
        assert "Authorization" in r.headers["Access-Control-Allow-Headers"]


def test_not_running_answers_at_once_with_the_state(api):
    url, client = api
    for path in ["/openqq/get_user_info", "/openqq/get_friend_info", "/openqq/search_friend?uid=1",
                 "/openqq/send_friend_message?uid=1&content=hi", "/openqq/kick_group_member"]:
        r = requests.get(url + path, timeout=5)
        assert r.status_code == 200
        assert r.headers["Content-Type"] == JSON_TYPE
        assert "Access-Control-Allow-Origin" not in r.headers
        assert r.json() == {"code": 503, "status": "client not running", "state": "scaning"}
    client.state = "stop"
    assert requests.get(url + "/openqq/get_group_info", timeout=5).json()["state"] == "stop"


def test_jsonp_wraps_output_and_refuses_script_callbacks(api):
    url, _ = api
    r = requests.get(url + "/openqq/get_client_info?datatype=jsonp&callback=cb.done", timeout=5)
    assert r.text.startswith("cb.done({") and r.text.endswith("})")
    assert json.loads(r.text[len("cb.done("):-1])["code"] == 0
    assert r.headers["Content-Type"] == JSON_TYPE
    r = requests.get(url + "/openqq/nope?datatype=jsonp&callback=f", timeout=5)
    assert r.status_code == 403 and r.text == "f(api not found)"
    r = requests.get(url + "/openqq/get_client_info?datatype=jsonp", timeout=5)
    assert r.text.startswith("jsoncallback")
    r = requests.get(url + "/openqq/get_client_info", params={"datatype": "jsonp",
                                                              "callback": "alert(1);x"}, timeout=5)
    assert r.status_code == 400
    assert r.json() == {"code": 400, "status": "invalid jsonp callback"}


def test_body_over_one_megabyte_is_413_json(api):
    url, _ = api
    r = requests.post(url + "/openqq/check_event", data=b"x" * (1024 * 1024 + 1),
                      headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=10)
    assert r.status_code == 413
    assert r.json() == {"code": 413, "status": "request body too large"}
    r = requests.post(url + "/openqq/unknown", data=b"x" * (1024 * 1024 + 1), timeout=10)
    assert r.status_code in (403, 413)


def test_chunked_body_over_the_limit_is_413_too(api):
    url, _ = api

    def chunks():
        for _ in range(20):
            yield b"a=" + b"y" * 100000

    r = requests.post(url + "/openqq/check_event", data=chunks(),
                      headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=10)
    assert r.status_code == 413
    assert r.json()["code"] == 413


@pytest.mark.parametrize("body,ctype", [
    (b"{not json", "application/json"),
    (b"\xff\xfe{}", "application/json"),
    (b"[1, 2]", "application/json"),
    (b'{"since": {"nested": 1}}', "application/json"),
])
def test_bad_json_bodies_answer_400_json(api, body, ctype):
    url, _ = api
    r = requests.post(url + "/openqq/check_event", data=body, headers={"Content-Type": ctype}, timeout=5)
    assert r.status_code == 400
    assert r.headers["Content-Type"] == JSON_TYPE
    assert r.json()["code"] == 400


def test_parameters_come_from_query_form_and_json(api):
    url, _ = api
    # check_event validates "since": a bad value from any source is refused, a good one accepted.
    bad = {"since": "abc"}
    assert requests.get(url + "/openqq/check_event", params=bad, timeout=5).json()["code"] == 400
    assert requests.post(url + "/openqq/check_event", data=bad, timeout=5).json()["code"] == 400
    assert requests.post(url + "/openqq/check_event", json=bad, timeout=5).json()["code"] == 400
    assert requests.post(url + "/openqq/check_event", json={"since": 0}, timeout=5).json() == []
    assert requests.post(url + "/openqq/check_event", files={"since": (None, "x")}, timeout=5).json()["code"] == 400


def test_invalid_utf8_in_query_never_fails(api):
    url, _ = api
    r = requests.get(url + "/openqq/check_event?since=%ff%fe", timeout=5)
    assert r.status_code == 200 and r.json()["code"] == 400


def test_get_client_info_shape(api):
    url, client = api
    data = requests.post(url + "/openqq/get_client_info", timeout=5).json()
    assert data["code"] == 0 and data["status"] == "success"
    assert data["pid"] == client.pid and data["account"] == "test"
    assert data["starttime"] == client.starttime and data["runtime"] >= 10
    assert data["os"] and data["version"] and data["state"] == "scaning"
    for key in ("http_debug", "log_encoding", "log_path", "log_level"):
        assert key in data


def test_stop_client_answers_then_stops_client_and_calls_on_stop():
    import threading
    stopped = threading.Event()
    with stub_api(StubClient(state="running"), on_stop=stopped.set) as (server, client, _):
        r = requests.get(server.url + "/openqq/stop_client", timeout=5).json()
        assert r["code"] == 0 and r["pid"] == client.pid and r["account"] == "test"
        assert r["status"] == f"success, client({client.pid}) will stop in 0.05 seconds"
        assert stopped.wait(5)
        assert client.stopped.is_set()
        # A second call answers the same and does not stop twice.
        assert requests.get(server.url + "/openwx/stop_client", timeout=5).json()["code"] == 0


def test_a_delayed_stop_not_yet_due_ends_with_the_server():
    """The 3 s delay of stop_client/relogin is a stoppable wait: stopping the server drops the
    action and joins its thread at once (the autouse check finds no thread left)."""
    import time
    with stub_api(StubClient(state="running"), _stop_delay=60) as (server, client, _):
        assert requests.get(server.url + "/openqq/stop_client", timeout=5).json()["code"] == 0
        assert requests.get(server.url + "/openqq/relogin", timeout=5).json()["code"] == 0
        t0 = time.monotonic()
    assert time.monotonic() - t0 < 10
    assert not client.stopped.is_set() and client.relogins == 0


def test_relogin_is_get_only_and_asks_the_client(api):
    url, client = api
    r = requests.get(url + "/openqq/relogin", timeout=5).json()
    assert r == {"code": 0, "account": "test",
                 "status": f"success, client({client.pid}) will relogin in 0.05 seconds"}
    from stacks import eventually
    eventually(lambda: client.relogins == 1)


def test_an_exception_in_a_view_is_a_json_500_without_traceback():
    client = StubClient(state="running")

    class Broken:
        def friends(self):
            raise KeyError("secret internals")

    client.contacts = Broken()
    with stub_api(client) as (server, _, _app):
        r = requests.get(server.url + "/openqq/get_friend_info", timeout=5)
        assert r.status_code == 500
        assert r.json() == {"code": 500, "status": "internal error"}
        assert "secret" not in r.text and "Traceback" not in r.text


def test_jsonp_leaves_files_alone(api):
    url, _ = api
    r = requests.get(url + "/openqq/console/", params={"datatype": "jsonp", "callback": "cb"}, timeout=5)
    assert r.status_code == 200 and not r.text.startswith("cb(")
