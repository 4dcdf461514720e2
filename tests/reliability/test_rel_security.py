"""Security of a logged-in stack over loopback: the token on every route, the bind refusal,
signed post_api requests checked by a verifying receiver, poll_api redirects kept inside
our own API, private files, and DEBUG logs free of secrets.

Already covered and not repeated: the 401 shape and the three token forms on a stub
(tests/web/test_web_token.py), the redirect target rules one by one
(tests/delivery/test_delivery_heartbeat.py::test_redirect_target_rules), the signature
arithmetic of the reporter (tests/delivery/test_delivery_post_api.py), `openqq run --host
0.0.0.0` refused (tests/web/test_web_command.py), transport URL redaction
(tests/protocol/test_transport.py).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import socket
import stat
import threading
import time

import pytest
import requests

from openqq_sync import runner
from openqq_sync.config import Config
from openqq_sync.delivery import Heartbeat
from openqq_sync.web import extra_routes
from stacks import LiveStack, Receiver, eventually

TOKEN = "tok-3f9c2a7d1e5b"
SECRET = "sec-8b1d4e6f2a9c"
AUTH_FAILURE = {"code": -6, "status": "auth failure"}


def _verifying_receiver(self_id, bad):
    """A post_api receiver that checks both signatures and X-Self-ID like a careful bot."""
    def respond(req):
        body, h = req.body, req.headers
        sha1 = hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
        ts = h.get("X-Openqq-Timestamp", "")
        sha256 = hmac.new(SECRET.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        problems = []
        if not hmac.compare_digest(h.get("X-Signature", ""), f"sha1={sha1}"):
            problems.append("sha1")
        if not hmac.compare_digest(h.get("X-Openqq-Signature-256", ""), f"sha256={sha256}"):
            problems.append("sha256")
        if not ts.isdigit() or abs(int(ts) - time.time()) > 300:      # replay window
            problems.append("timestamp")
        if h.get("X-Self-ID") != str(self_id()):
            problems.append(f"self id {h.get('X-Self-ID')}")
        if problems:
            bad.append(problems)
            return 401, {}, b"bad signature"
        return 200, {"Content-Type": "text/plain"}, b"ok"
    return respond


@pytest.fixture(scope="module")
def secure(tmp_path_factory):
    """A stack with --token and --post-secret, logging at DEBUG through the CLI's own
    logging setup into a log file (as ``openqq run --log-level debug --log-path``)."""
    tmp = tmp_path_factory.mktemp("secure")
    log_path = str(tmp / "openqq.log")
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    runner.setup_logging(Config(log_level="debug", log_path=log_path))
    # The tests' own HTTP calls (urllib3, on the main thread) carry the token on purpose;
    # only the server's side is under test.
    for handler in root.handlers:
        handler.addFilter(lambda r: not (r.threadName == "MainThread" and r.name.startswith("urllib3")))
    stack = None
    try:
        stack = LiveStack(str(tmp), token=TOKEN, post_secret=SECRET, account="secure")
        stack.log_path = log_path
        stack.bad = []
        uid = stack.sandbox.world.snapshot(members=False)["account"]["uid"]
        stack.answer = _verifying_receiver(lambda: uid, stack.bad)
        yield stack
    finally:
        if stack is not None:
            stack.close()
        for h in list(root.handlers):
            root.removeHandler(h)
            h.close()
        for h in saved[0]:
            root.addHandler(h)
        root.setLevel(saved[1])
        logging.getLogger("openqq_sync.backends.smartqq.transport").setLevel(logging.NOTSET)
        logging.getLogger("urllib3").setLevel(logging.NOTSET)


def _friend(stack):
    names = [f["name"] for f in stack.world["friends"]]
    return next(f for f in stack.world["friends"] if names.count(f["name"]) == 1 and f["uid"])


def _fill(rule):
    return re.sub(r"<(?:[a-z]+:)?[a-z_]+>", "x", rule)


def test_every_route_needs_the_token(secure):
    """Every rule of the app's url_map, every method it takes: no token, a wrong one, one
    differing in case or length -> 401 -6; Bearer or access_token -> let in. Only the console
    files and the OpenAPI document are public (they hold nothing about the account)."""
    app = secure.app
    public = {r.rule for r in app.url_map.iter_rules()
              if r.endpoint.split(".")[-1] in extra_routes.PUBLIC_ENDPOINTS}
    assert public == {"/openqq/openapi.json", "/openqq/console/", "/openqq/console/console.js",
                      "/openqq/console/console.css"}
    wrong = [{}, {"headers": {"Authorization": f"Bearer {TOKEN.upper()}"}},
             {"headers": {"Authorization": f"Bearer {TOKEN}x"}}, {"params": {"access_token": TOKEN[:-1]}},
             {"headers": {"Authorization": f"Basic {TOKEN}"}}, {"params": {"access_token": ""}}]
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.rule in public or rule.endpoint in ("static", "home"):
            continue
        path = _fill(rule.rule)
        # Every wrong form on a few routes; no token and a near miss on all the others.
        forms = wrong if path in ("/openqq/get_user_info", "/openqq/check_event", "/openqq/stop_client") \
            else wrong[:3]
        for method in sorted((rule.methods or set()) - {"OPTIONS", "HEAD"}):
            for kw in forms:
                r = requests.request(method, secure.url + path, timeout=10, **kw)
                assert r.status_code == 401 and r.json() == AUTH_FAILURE, (method, path, kw)
            for kw in ({"headers": {"Authorization": f"Bearer {TOKEN}"}}, {"params": {"access_token": TOKEN}}):
                if "stop_client" in path or "relogin" in path:
                    continue                      # would end the stack; let-in shown elsewhere
                r = requests.request(method, secure.url + path, timeout=10, **kw)
                assert r.status_code != 401, (method, path, kw)
            checked += 1
    assert checked >= 30
    for path in public:
        assert requests.get(secure.url + path, timeout=10).status_code == 200
    # "/" only redirects to the (public) console.
    home = requests.get(secure.url + "/", allow_redirects=False, timeout=10)
    assert home.status_code == 302 and home.headers["Location"] == "/openqq/console/"


def test_stop_client_and_relogin_refuse_a_wrong_token(secure):
    for path in ("/openqq/stop_client", "/openqq/relogin", "/openwx/stop_client"):
        r = requests.get(secure.url + path, params={"access_token": "guess"}, timeout=10)
        assert r.status_code == 401
    assert secure.client.state == "running" and not secure.stopped.is_set()


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "", "192.168.1.20", "10.1.2.3", "example.com",
                                  "127.0.0.1.nip.io", "::ffff:127.0.0.1"])
def test_non_loopback_bind_without_a_token_is_refused(host, capsys):
    assert runner.serve(Config(host=host, port=0)) == 2
    err = capsys.readouterr().err
    assert "--token" in err and "--allow-no-token" in err


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_hosts_pass_the_check(host):
    assert runner.is_loopback(host)


def test_token_or_allow_no_token_pass_the_check(tmp_path, capsys):
    """The check passes; the bind then fails on a port we hold (exit 1, not the refusal 2)."""
    before = set(threading.enumerate())
    with socket.socket() as held:
        held.bind(("0.0.0.0", 0))
        held.listen()
        port = held.getsockname()[1]
        for extra in ({"token": "t"}, {"allow_no_token": True}):
            code = runner.serve(Config(host="0.0.0.0", port=port, tmpdir=str(tmp_path), account="bind",
                                       server="http://127.0.0.1:9", **extra))
            err = capsys.readouterr().err
            assert code == 1 and "cannot listen" in err, err
    # The failed bind left no waitress worker threads behind (they used to outlive it).
    assert not [t.name for t in set(threading.enumerate()) - before if t.name.startswith("waitress")]


def test_post_api_requests_are_signed_and_name_the_account(secure):
    """Every request carries both signatures (checked here with the secret, as a receiver
    would); X-Self-ID is the account's QQ number on every request from the ``login`` event
    on (before it, while the QR code is shown, the number is not known yet)."""
    f = _friend(secure)
    secure.sandbox.world.inject_message("friend_message", f["uid"], "签名 你好")
    r = requests.get(secure.url + "/openqq/send_friend_message", timeout=30,
                     headers={"Authorization": f"Bearer {TOKEN}"}, params={"uid": f["uid"], "content": "签名 发"})
    assert r.json()["code"] == 0
    eventually(lambda: {"签名 你好", "签名 发"} <= {p.get("content") for p in secure.posts()})
    assert secure.bad == []                          # the verifying receiver refused nothing
    uid = str(secure.sandbox.world.snapshot(members=False)["account"]["uid"])
    requests_ = list(secure.receiver.requests)
    logged_in = False
    for req in requests_:
        h, body = req.headers, req.body
        assert h["X-Signature"] == "sha1=" + hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
        signed = h["X-Openqq-Timestamp"].encode() + b"." + body
        assert h["X-Openqq-Signature-256"] == "sha256=" + hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
        logged_in = logged_in or req.json().get("event") == "login"
        if logged_in:
            assert h.get("X-Self-ID") == uid, req.json()
    contents = {req.json().get("content") for req in requests_}
    assert logged_in and {"签名 你好", "签名 发"} <= contents


def test_poll_api_redirects_elsewhere_are_refused_and_leak_nothing(secure, caplog):
    """The remote redirects to an attacker's server, to our server outside /openqq/, and with
    a scheme change; none is followed (the attacker sees no request, so no token), each is
    logged; then a redirect into our own API is followed with the token and sends."""
    f = _friend(secure)
    host, port = secure.server.address
    with Receiver() as attacker:
        send = f"/openqq/send_friend_message?uid={f['uid']}&content=%E8%B7%B3"
        locations = [f"http://127.0.0.1:{attacker.port}{send}", f"http://localhost:{attacker.port}{send}",
                     f"http://127.0.0.1:{port}/openqq/../sandbox/world", f"https://127.0.0.1:{port}{send}",
                     f"//127.0.0.1:{attacker.port}{send}", f"http://127.0.0.1:{port}{send}"]
        answers = iter([(302, {"Location": loc}, b"") for loc in locations])
        lock = threading.Lock()

        def remote_answer(req):
            with lock:
                return next(answers, (200, {}, b""))

        with Receiver(remote_answer) as remote, caplog.at_level(logging.WARNING, "openqq_sync.delivery.heartbeat"):
            hb = Heartbeat(secure.client, remote.url, own_address=lambda: secure.server.address, interval=0.01,
                           token=TOKEN, account="test")
            hb.start()
            try:
                sent = eventually(lambda: [s for s in secure.sandbox.world.sent if s["content"] == "跳"])
            finally:
                hb.stop()
            refused = [r for r in caplog.records if "redirect refused" in r.getMessage()]
        assert attacker.requests == []
    assert len(sent) == 1 and len(refused) == 5


def test_files_are_private_even_with_a_permissive_umask(tmp_path):
    """Cookie, QR, state and pid files: mode 0600 whatever the umask (0 here)."""
    from openqq_sync.client import Client
    from openqq_sync.sandbox import SandboxServer

    srv = SandboxServer(world="small", seed=1, port=0, auto_scan=None, auto_confirm=None, poll_hold=1.0).start()
    old = os.umask(0)
    client = Client(Config(server=srv.url, tmpdir=str(tmp_path), account="private", show_qrcode=False,
                           qrcode_poll_interval=0.02, send_interval=0))
    try:
        client.start()
        assert client.wait_for_state("scaning", 10)
        config = client.config
        paths = [config.qrcode_path, config.state_path, config.pid_path]
        for path in paths:
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
        srv.world.scan()
        srv.world.confirm()
        assert client.wait_for_state("running", 20)
        eventually(lambda: os.path.exists(config.cookie_path))
        for path in (config.cookie_path, config.state_path, config.pid_path):
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
    finally:
        os.umask(old)
        client.stop()
        srv.stop()
    assert stat.S_IMODE(os.stat(config.cookie_path).st_mode) == 0o600


def test_debug_logs_hold_no_token_cookie_or_secret(secure):
    """After a full QR login, sends, received messages, check_event and signed post_api
    reports at DEBUG (module order: this runs last), the log file holds none of the token,
    the post secret, any cookie value or the session's psessionid/vfwebqq."""
    f = _friend(secure)
    requests.get(secure.url + "/openqq/check_event", params={"access_token": TOKEN, "since": 0}, timeout=30)
    requests.get(secure.url + "/openqq/get_user_info", params={"access_token": "wrong-guess"}, timeout=30)
    r = requests.get(secure.url + "/openqq/send_friend_message", params={"access_token": TOKEN, "uid": f["uid"],
                                                                         "content": "日志 发"}, timeout=30)
    assert r.json()["code"] == 0
    secure.sandbox.world.inject_message("friend_message", f["uid"], "日志")
    eventually(lambda: [p for p in secure.posts() if p.get("content") == "日志"])
    for handler in logging.getLogger().handlers:
        handler.flush()
    with open(secure.log_path, encoding="utf-8") as fh:
        text = fh.read()
    assert "poll2" in text and "send_buddy_msg2" in text and len(text) > 5000   # it did log at DEBUG
    creds = secure.client.backend._creds
    secrets = {"token": TOKEN, "post secret": SECRET, "psessionid": creds.psessionid, "vfwebqq": creds.vfwebqq}
    for cookie in secure.client.backend.transport.cookies:
        if cookie.value and len(cookie.value) >= 8 and not cookie.value.isdigit():
            secrets[f"cookie {cookie.name}"] = cookie.value
    assert {"cookie skey", "cookie ptwebqq", "cookie supertoken"} <= set(secrets), sorted(secrets)
    leaked = sorted(name for name, value in secrets.items() if value in text)
    assert leaked == []
