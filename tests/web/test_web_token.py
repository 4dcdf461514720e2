"""``--token``: every route requires it (Bearer header or access_token), compared in constant
time; failures answer HTTP 401 ``{"code": -6, "status": "auth failure"}`` (issue 6, security)."""

from __future__ import annotations

import pytest
import requests

from stacks import StubClient, stub_api

AUTH_FAILURE = {"code": -6, "status": "auth failure"}


@pytest.fixture
def api():
    with stub_api(StubClient(state="running"), token="s3cret-token") as (server, client, app):
        yield server.url


@pytest.mark.parametrize("path", ["/openqq/get_client_info", "/openqq/check_event",
                                  "/openqq/stop_client", "/openqq/nope", "/openqq/get_user_info"])
def test_missing_or_wrong_token_is_401(api, path):
    for headers, params in [({}, {}), ({"Authorization": "Bearer nope"}, {}),
                            ({}, {"access_token": "s3cret"}), ({"Authorization": "Basic czNjcmV0"}, {})]:
        r = requests.get(api + path, headers=headers, params=params, timeout=5)
        assert r.status_code == 401
        assert r.json() == AUTH_FAILURE
        assert r.headers["Access-Control-Allow-Origin"] == "*"


def test_bearer_header_or_access_token_parameter_let_in(api):
    token = "s3cret-token"
    r = requests.get(api + "/openqq/get_client_info", headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert r.status_code == 200 and r.json()["code"] == 0
    r = requests.get(api + "/openqq/get_client_info", params={"access_token": token}, timeout=5)
    assert r.json()["code"] == 0
    r = requests.post(api + "/openqq/get_client_info", data={"access_token": token}, timeout=5)
    assert r.json()["code"] == 0
    r = requests.post(api + "/openqq/get_client_info", json={"access_token": token}, timeout=5)
    assert r.json()["code"] == 0
    # An authorised unknown route is still the original's 403.
    r = requests.get(api + "/openqq/nope", params={"access_token": token}, timeout=5)
    assert r.status_code == 403 and r.text == "api not found"


def test_preflight_needs_no_token(api):
    r = requests.options(api + "/openqq/get_client_info", timeout=5)
    assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == "*"


def test_a_chinese_token_works_in_either_header_and_the_query():
    token = "令牌-s3cret"
    with stub_api(StubClient(state="running"), token=token) as (server, client, app):
        raw = token.encode("utf-8")       # what a client puts on the wire for a header
        for headers in ({"Authorization": b"Bearer " + raw}, {"X-Auth-Token": raw}):
            r = requests.get(server.url + "/openqq/get_client_info", headers=headers, timeout=5)
            assert r.status_code == 200 and r.json()["code"] == 0, headers
        r = requests.get(server.url + "/openqq/get_client_info", params={"access_token": token}, timeout=5)
        assert r.json()["code"] == 0
        wrong = "令牌-s3creT".encode("utf-8")
        r = requests.get(server.url + "/openqq/get_client_info", headers={"X-Auth-Token": wrong}, timeout=5)
        assert r.status_code == 401 and r.json() == AUTH_FAILURE


@pytest.mark.parametrize("token", ["口令-你", "口令-丅", "café-s3cret"])
def test_a_token_ending_in_a_byte_python_counts_as_blank_or_sent_as_latin1_text_works(token):
    # 你 ends in byte a0 and 丅 in 85, which str.strip() takes for blanks; http.client sends
    # a str header as latin-1, as browsers do.
    with stub_api(StubClient(state="running"), token=token) as (server, client, app):
        headers = [{"Authorization": b"Bearer " + token.encode("utf-8")}, {"X-Auth-Token": token.encode("utf-8")}]
        try:
            token.encode("latin-1")
            headers += [{"Authorization": "Bearer " + token}, {"X-Auth-Token": token}]
        except UnicodeEncodeError:
            pass
        for h in headers:
            r = requests.get(server.url + "/openqq/get_client_info", headers=h, timeout=5)
            assert r.status_code == 200, h
        r = requests.get(server.url + "/openqq/get_client_info",
                         headers={"Authorization": b"Bearer " + token.encode("utf-8")[:-1]}, timeout=5)
        assert r.status_code == 401
