"""Issue 17, browser rules: what a web page may make the API do, over real HTTP on loopback.

Requests forge the headers a browser would send (``Host`` after DNS rebinding, ``Origin``,
``Sec-Fetch-Site``); scripts send none of them and stay unaffected.
"""

from __future__ import annotations

import argparse
import socket

import pytest
import requests

from openqq_sync import cli
from stacks import StubClient, stub_api

ROUTE = "/openqq/get_client_info"
SEND = "/openqq/send_friend_message?uid=1&content=hi"


@pytest.fixture
def open_api():
    """No token (the default set-up)."""
    with stub_api(StubClient(state="running")) as (server, client, _):
        yield server, client


def get(server, path=ROUTE, method="GET", **headers):
    return requests.request(method, server.url + path, headers=headers, timeout=5)


def assert_refused(r, option, allow_origin=None):
    assert r.status_code == 403, (r.status_code, r.text)
    body = r.json()
    assert body["code"] == 403 and body["option"] == option and option in body["status"]
    assert r.headers.get("Access-Control-Allow-Origin") == allow_origin


def test_scripts_and_loopback_hosts_are_answered(open_api):
    server, _ = open_api
    port = server.port
    for host in [None, f"127.0.0.1:{port}", "localhost", f"LOCALHOST:{port}", "127.0.0.2:1", "[::1]:80",
                 "app.localhost"]:
        r = get(server, **({"Host": host} if host else {}))
        assert r.status_code == 200 and r.json()["code"] == 0, host
        assert "Access-Control-Allow-Origin" not in r.headers
    # HTTP/1.0 without any Host: no browser sends that.
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"GET {ROUTE} HTTP/1.0\r\n\r\n".encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.0 200") and b'"code":0' in answer


@pytest.mark.parametrize("host", ["rebind.example", "rebind.example:5000", "127.0.0.1.evil.example",
                                  "192.168.1.5", "[::2]:5000", "localhost.evil.example"])
def test_other_hosts_are_refused_without_a_token(open_api, host):
    """DNS rebinding: the page's own name resolves to 127.0.0.1, the Host header still names it."""
    server, client = open_api
    assert_refused(get(server, **{"Host": host}), "--allowed-hosts")
    assert_refused(get(server, SEND, **{"Host": host}), "--allowed-hosts")
    assert_refused(get(server, "/openqq/console/", **{"Host": host}), "--allowed-hosts")
    assert_refused(get(server, "/", **{"Host": host}), "--allowed-hosts")
    assert_refused(get(server, ROUTE, "OPTIONS", **{"Host": host}), "--allowed-hosts")


@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "cross-site"},                     # <img src>, <form>, no Origin
    {"Sec-Fetch-Site": "same-site"},                      # another port of the same machine
    {"Origin": "https://evil.example"},
    {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    {"Origin": "http://127.0.0.1:1"},                     # a page on another loopback port
    {"Origin": "null"},                                   # a sandboxed frame or a file:// page
])
def test_pages_of_other_sites_are_refused_without_a_token(open_api, headers):
    server, client = open_api
    assert_refused(get(server, SEND, **headers), "--cors-origins")
    assert_refused(get(server, ROUTE, "POST", **headers), "--cors-origins")
    assert_refused(get(server, SEND, "OPTIONS", **headers, **{"Access-Control-Request-Method": "GET"}),
                   "--cors-origins")
    assert_refused(get(server, "/openqq/stop_client", **headers), "--cors-origins")
    assert client.state == "running"      # stop_client did not run


def test_the_same_origin_and_plain_navigation_are_answered(open_api):
    server, _ = open_api
    own = f"http://127.0.0.1:{server.port}"
    for headers in [{"Origin": own, "Sec-Fetch-Site": "same-origin"}, {"Sec-Fetch-Site": "same-origin"},
                    {"Sec-Fetch-Site": "none"},    # typed into the address bar
                    {"Origin": own.replace("127.0.0.1", "localhost"), "Host": f"localhost:{server.port}"}]:
        r = get(server, **headers)
        assert r.status_code == 200 and r.json()["code"] == 0, headers
        assert "Access-Control-Allow-Origin" not in r.headers


def test_listed_hosts_and_origins_are_answered():
    with stub_api(StubClient(state="running"), allowed_hosts=["qq.example.com"],
                  cors_origins=["https://app.example"]) as (server, client, _):
        r = get(server, **{"Host": "QQ.example.com:8443"})
        assert r.status_code == 200
        assert_refused(get(server, **{"Host": "other.example.com"}), "--allowed-hosts")
        # A listed origin may call and read: its origin comes back, and caches key on Origin.
        r = get(server, **{"Origin": "https://app.example", "Sec-Fetch-Site": "cross-site"})
        assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == "https://app.example"
        assert "Origin" in r.headers["Vary"]
        pre = get(server, SEND, "OPTIONS", **{"Origin": "https://app.example",
                                             "Access-Control-Request-Method": "POST"})
        assert pre.status_code == 200 and pre.headers["Access-Control-Allow-Origin"] == "https://app.example"
        assert_refused(get(server, **{"Origin": "https://app.example.evil"}), "--cors-origins")
        assert_refused(get(server, **{"Origin": "http://app.example"}), "--cors-origins")  # another scheme
        # A script gets no allowance and needs none.
        assert "Access-Control-Allow-Origin" not in get(server).headers


def test_the_listening_address_is_answered_unless_a_wildcard():
    """Typing the --host address is no rebinding: a rebinding page can only name its own host."""
    with stub_api(StubClient(state="running"), host="192.0.2.7", allow_no_token=True) as (server, _, _):
        assert get(server, **{"Host": "192.0.2.7:5000"}).status_code == 200
        assert_refused(get(server, **{"Host": "192.0.2.8:5000"}), "--allowed-hosts")
    with stub_api(StubClient(state="running"), host="0.0.0.0", allow_no_token=True) as (server, _, _):
        assert_refused(get(server, **{"Host": "0.0.0.0:5000"}), "--allowed-hosts")
        assert_refused(get(server, **{"Host": "192.0.2.7"}), "--allowed-hosts")


def test_cors_origins_star_is_the_original_behaviour():
    with stub_api(StubClient(state="running"), cors_origins=["*"]) as (server, client, _):
        r = get(server, **{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
        assert r.status_code == 200 and r.json()["code"] == 0
        assert r.headers["Access-Control-Allow-Origin"] == "*"
        # The Host check stays: '*' opens the API to pages, not to other names.
        assert_refused(get(server, **{"Host": "rebind.example"}), "--allowed-hosts", "*")


def test_with_a_token_every_origin_is_allowed_and_the_token_decides():
    token = {"Authorization": "Bearer s3cret"}
    with stub_api(StubClient(state="running"), token="s3cret") as (server, client, _):
        for headers in [{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
                        {"Host": "rebind.example"}, {}]:
            r = get(server, **headers)
            assert r.status_code == 401 and r.headers["Access-Control-Allow-Origin"] == "*"
            r = get(server, **headers, **token)
            assert r.status_code == 200 and r.json()["code"] == 0
            assert r.headers["Access-Control-Allow-Origin"] == "*"
        pre = get(server, ROUTE, "OPTIONS", **{"Origin": "https://evil.example"})
        assert pre.status_code == 200 and pre.headers["Access-Control-Allow-Origin"] == "*"
    # With a token, --allowed-hosts given still limits the Host.
    with stub_api(StubClient(state="running"), token="s3cret", allowed_hosts=["qq.example.com"]) as (server, _, _):
        assert_refused(get(server, **{"Host": "rebind.example"}, **token), "--allowed-hosts", "*")
        assert get(server, **{"Host": "qq.example.com"}, **token).status_code == 200
        assert get(server, **token).status_code == 200


def test_options_come_from_flags_environment_and_files(tmp_path):
    parser = argparse.ArgumentParser()
    cli.add_flags(parser)
    ini = tmp_path / "openqq.ini"
    ini.write_text("[openqq]\ncors-origins = https://a.example, https://b.example\n", encoding="utf-8")
    config, _ = cli.load(parser.parse_args(["--config", str(ini), "--allowed-hosts", "qq.example.com,10.0.0.5"]),
                         env={"OPENQQ_ALLOWED_HOSTS": "ignored.example"})
    assert config.allowed_hosts == ["qq.example.com", "10.0.0.5"]
    assert config.cors_origins == ["https://a.example", "https://b.example"]
    config, _ = cli.load(parser.parse_args([]), env={"OPENQQ_ALLOWED_HOSTS": "qq.example.com"})
    assert config.allowed_hosts == ["qq.example.com"] and config.cors_origins == []
