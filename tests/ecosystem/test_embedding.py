"""contrib/examples/embed_blueprint.py (tested end to end in tests/contrib): the additions
of issue 7 work under its url_prefix too — document, QR route, console in a browser."""

from __future__ import annotations

import embed_blueprint
import pytest
import requests

from browser import Chromium, find_chromium
from openqq_sync.config import Config
from stacks import serve


@pytest.fixture(params=[None, "t0ken"], ids=["open", "token"])
def embedded(request, tmp_path):
    # The client is built but never started: it stays in "init", which is all these need.
    config = Config(tmpdir=str(tmp_path), show_qrcode=False, threads=16, check_event_timeout=1,
                    token=request.param)
    app, client, bp = embed_blueprint.build(config)
    try:
        with serve(app) as server:
            yield server.url
    finally:
        bp.openqq.delivery.stop(0.5)


def test_document_and_qr_route_under_the_prefix(embedded):
    assert requests.get(embedded + "/", timeout=5).text == "my existing app"
    doc = requests.get(embedded + "/qq/openqq/openapi.json", timeout=5).json()
    assert doc["servers"] == [{"url": "/qq"}]
    assert "/openqq/get_user_info" in doc["paths"]
    headers = {"Authorization": "Bearer t0ken"}
    r = requests.get(embedded + "/qq/openqq/get_qrcode", headers=headers, timeout=5)
    assert r.status_code == 404 and r.json()["state"] == "init"
    # The console's files need no token under the prefix either.
    page = requests.get(embedded + "/qq/openqq/console/", timeout=5)
    assert page.status_code == 200 and 'src="console.js"' in page.text
    assert requests.get(embedded + "/qq/openqq/console/console.js", timeout=5).status_code == 200


@pytest.mark.skipif(find_chromium() is None, reason="chromium not installed (apt-get install chromium)")
def test_console_works_under_the_prefix(embedded, tmp_path):
    with Chromium(find_chromium(), str(tmp_path / "profile")) as browser:
        browser.navigate(embedded + "/qq/openqq/console/")
        asks = "getComputedStyle(document.getElementById('token-form')).display !== 'none'"
        state = "document.getElementById('state').textContent"
        browser.wait_for(f"{asks} || {state} === 'init'")
        if browser.evaluate(asks):
            browser.evaluate("document.getElementById('token-input').value = 't0ken';"
                             "document.getElementById('token-form').requestSubmit(); true")
        # Its relative API calls reach /qq/openqq/get_client_info.
        browser.wait_for(f"{state} === 'init'")
        assert browser.evaluate("document.getElementById('link').textContent") == "connected"
