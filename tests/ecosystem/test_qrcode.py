"""GET /openqq/get_qrcode: the login QR as PNG while scanning, a JSON error otherwise."""

from __future__ import annotations

import hashlib

import requests

from stacks import StubClient, stub_api

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_qrcode_while_scanning_then_json_error_after_login(manual_stack):
    r = requests.get(manual_stack.url + "/openqq/get_qrcode", timeout=5)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "image/png"
    assert r.headers["Cache-Control"] == "no-store"
    assert r.content.startswith(PNG_MAGIC)
    # The very code the client downloaded from the (sandbox) service.
    assert r.content == manual_stack.client.qrcode
    assert r.headers["ETag"] == '"' + hashlib.sha1(r.content).hexdigest() + '"'

    manual_stack.login()
    r = requests.get(manual_stack.url + "/openqq/get_qrcode", timeout=5)
    assert r.status_code == 404
    assert r.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert r.json() == {"code": 404, "status": "no qrcode: the client is not scanning", "state": "running"}


def test_qrcode_is_behind_the_token():
    client = StubClient("scaning")
    client.qrcode = PNG_MAGIC + b"fake"
    with stub_api(client, token="t0ken") as (server, _, _app):
        url = server.url + "/openqq/get_qrcode"
        denied = requests.get(url, timeout=5)
        wrong = requests.get(url, headers={"Authorization": "Bearer nope"}, timeout=5)
        bearer = requests.get(url, headers={"Authorization": "Bearer t0ken"}, timeout=5)
        query = requests.get(url, params={"access_token": "t0ken"}, timeout=5)
    assert denied.status_code == 401 and denied.json() == {"code": -6, "status": "auth failure"}
    assert wrong.status_code == 401
    assert bearer.status_code == 200 and bearer.content == PNG_MAGIC + b"fake"
    assert query.status_code == 200 and query.content == PNG_MAGIC + b"fake"


def test_qrcode_error_in_other_states_names_the_state():
    with stub_api(StubClient("init")) as (server, _, _app):
        r = requests.get(server.url + "/openqq/get_qrcode", timeout=5)
    assert r.status_code == 404 and r.json()["state"] == "init"
