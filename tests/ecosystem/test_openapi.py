"""The OpenAPI document describes exactly the routes the blueprint serves."""

from __future__ import annotations

import re
from typing import Dict, Set

import requests
from flask import Flask

from openqq_sync.web import openqq_blueprint
from openqq_sync.web.openapi import ERROR_CODES, document
from stacks import StubClient, config, stub_api

IGNORED_METHODS = {"HEAD", "OPTIONS"}


def _served(app: Flask) -> Dict[str, Set[str]]:
    """path -> methods of every blueprint rule, except the 403 catch-alls (they are the
    'api not found' answer of any other path, not routes)."""
    out: Dict[str, Set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.endswith(("openqq_any", "openwx_any", "openqq_root", "openwx_root")):
            continue
        if "." not in rule.endpoint:     # create_app's own redirect of / to the console
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        out.setdefault(path, set()).update(set(rule.methods or ()) - IGNORED_METHODS)
    return out


def _documented(doc) -> Dict[str, Set[str]]:
    return {path: {m.upper() for m in ops} for path, ops in doc["paths"].items()}


def test_every_served_route_is_documented_and_nothing_else():
    with stub_api(StubClient("running")) as (server, client, app):
        doc = requests.get(server.url + "/openqq/openapi.json", timeout=5).json()
        served = _served(app)
    documented = _documented(doc)
    missing = {p: m for p, m in served.items() if documented.get(p) != m}
    extra = {p: m for p, m in documented.items() if served.get(p) != m}
    assert not missing, f"routes served but not (or differently) documented: {missing}"
    assert not extra, f"routes documented but not served: {extra}"
    # The spec's routes, the /openwx/ spellings and the additions are all there.
    for path in ("/openqq/send_friend_message", "/openwx/search_friend", "/openwx/search_group",
                 "/openqq/check_event", "/openqq/get_qrcode", "/openqq/openapi.json", "/openqq/console/"):
        assert path in documented


def test_document_shape_parameters_and_error_envelope():
    with stub_api(StubClient("running")) as (server, _, _app):
        r = requests.get(server.url + "/openqq/openapi.json", timeout=5)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    doc = r.json()
    assert doc["openapi"] == "3.1.0" and doc["servers"] == [{"url": "/"}]
    assert "security" not in doc
    check = doc["paths"]["/openqq/check_event"]["get"]
    assert [p["name"] for p in check["parameters"]] == ["since"]
    send = doc["paths"]["/openqq/send_friend_message"]["post"]
    assert {"id", "uid", "content", "async"} <= {p["name"] for p in send["parameters"]}
    assert "application/x-www-form-urlencoded" in send["requestBody"]["content"]
    assert send["responses"]["default"]["content"]["application/json"]["schema"] == \
        {"$ref": "#/components/schemas/Error"}
    error = doc["components"]["schemas"]["Error"]
    assert error["required"] == ["code", "status"]
    # The original's codes and ours, every one listed.
    for code in (-6, 100, 101, 102, 103, 104, 105, 200, 201, 400, 503):
        assert code in error["properties"]["code"]["enum"]
    assert set(error["properties"]["code"]["enum"]) == set(ERROR_CODES)
    assert "image/png" in doc["paths"]["/openqq/get_qrcode"]["get"]["responses"]["200"]["content"]
    # Structure a validator would insist on: unique operationIds, complete parameters.
    ops = [op for item in doc["paths"].values() for op in item.values()]
    assert len({op["operationId"] for op in ops}) == len(ops)
    for op in ops:
        assert op["responses"] and op["summary"]
        for p in op.get("parameters", []):
            assert p["in"] in ("query", "path", "header") and p["name"] and "schema" in p
    # Every $ref resolves.

    refs = set(re.findall(r'"#/components/schemas/([A-Za-z]+)"', r.text))
    assert refs and refs <= set(doc["components"]["schemas"])


def test_token_marks_guarded_routes_and_document_stays_public():
    with stub_api(StubClient("running"), token="s3cret") as (server, _, _app):
        r = requests.get(server.url + "/openqq/openapi.json", timeout=5)
        guarded = requests.get(server.url + "/openqq/get_client_info", timeout=5)
    assert r.status_code == 200
    assert guarded.status_code == 401 and guarded.json() == {"code": -6, "status": "auth failure"}
    doc = r.json()
    assert doc["security"]
    assert "401" in doc["paths"]["/openqq/get_user_info"]["get"]["responses"]
    assert doc["paths"]["/openqq/openapi.json"]["get"]["security"] == []
    assert doc["paths"]["/openqq/console/"]["get"]["security"] == []


def test_documented_security_is_what_the_server_enforces():
    """Every operation marked public answers without the token; every other one asks for it."""
    with stub_api(StubClient("running"), token="s3cret") as (server, _, _app):
        doc = requests.get(server.url + "/openqq/openapi.json", timeout=5).json()
        checked = 0
        for path, item in doc["paths"].items():
            if "get" not in item or path in ("/openqq/stop_client", "/openwx/stop_client", "/openqq/relogin"):
                continue  # (control routes would act on the stub; the rule is the same)
            r = requests.get(server.url + path, params={"since": 0} if "check_event" in path else None, timeout=10)
            if item["get"].get("security") == []:
                assert r.status_code == 200, path
            else:
                assert r.status_code == 401 and r.json()["code"] == -6, path
            checked += 1
        assert checked >= 15


def test_document_matches_a_blueprint_mounted_in_a_host_app():
    """Embedded (no create_app): the same routes; the host's own '/' still answers."""
    host = Flask("host")
    host.add_url_rule("/", "home", lambda: "host home")
    bp = openqq_blueprint(StubClient("running"), config())
    try:
        host.register_blueprint(bp)
        served = _served(host)
        documented = _documented(document())
        # The host app's own routes (its static files, its home page) are not the blueprint's.
        assert "/" not in served and "/static/{filename}" not in served
        assert served == documented
        assert host.test_client().get("/").get_data() == b"host home"
    finally:
        bp.openqq.delivery.stop(0.5)
