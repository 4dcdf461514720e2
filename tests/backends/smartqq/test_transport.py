"""Transport over real loopback HTTP: routing, cookies, redirects, failures, abort."""

from __future__ import annotations

import logging
import os
import stat
import threading
import time

import pytest

from openqq_sync.config import Config
from openqq_sync.errors import PollTimeout, TransportError
from openqq_sync.backends.smartqq.transport import Transport, redact


def test_routes_qq_host_keeping_path_query_host_and_user_agent(httpd, routed):
    httpd.route("/api/getvfwebqq", body='{"retcode":0,"result":{"vfwebqq":"中文"}}')
    data = routed.json("GET", "https://s.web2.qq.com/api/getvfwebqq?ptwebqq=&clientid=53999199",
                       referer="https://s.web2.qq.com/proxy.html?v=20130916001&callback=1&id=1")
    assert data == {"retcode": 0, "result": {"vfwebqq": "中文"}}
    seen = httpd.seen[0]
    assert seen.path == "/api/getvfwebqq?ptwebqq=&clientid=53999199"
    assert seen.headers["Host"] == "s.web2.qq.com"
    assert seen.headers["Referer"].startswith("https://s.web2.qq.com/proxy.html")
    assert seen.headers["User-Agent"].startswith("Mozilla/5.0 (Windows NT 6.1)")


def test_cookies_are_stored_under_the_real_domain_and_sent_back(httpd, routed):
    httpd.route("/ptqrshow", body=b"\x89PNG", headers=[
        ("Set-Cookie", "qrsig=abc; Path=/; Domain=ptlogin2.qq.com"),
        ("Set-Cookie", "hostonly=1; Path=/"),
        ("Set-Cookie", "skey=@k1; Path=/; Domain=qq.com"),
    ])
    httpd.route("/channel/poll2", body="{}")
    routed.request("GET", "https://ssl.ptlogin2.qq.com/ptqrshow")
    domains = {c.name: c.domain for c in routed.cookies}
    assert domains == {"qrsig": ".ptlogin2.qq.com", "hostonly": "ssl.ptlogin2.qq.com",
                       "skey": ".qq.com"}
    assert routed.cookie("qrsig") == "abc"
    routed.request("POST", "http://d1.web2.qq.com/channel/poll2", form={"r": "{}"})
    # skey is for every qq.com host; qrsig only for ptlogin2.qq.com hosts.
    assert httpd.seen[1].headers.get("Cookie") == "skey=@k1"


def test_redirects_keep_real_urls_and_their_cookies(httpd, routed):
    httpd.route("/check_sig", status=302, headers=[
        ("Location", "/proxy.html?login2qq=1"),
        ("Set-Cookie", "ptwebqq=tok; Domain=qq.com; Path=/"),
    ])
    httpd.route("/proxy.html", body="ok")
    resp = routed.request("GET", "https://ptlogin2.web2.qq.com/check_sig?pttype=1")
    assert resp.url == "https://ptlogin2.web2.qq.com/proxy.html?login2qq=1"
    assert httpd.seen[1].headers["Host"] == "ptlogin2.web2.qq.com"
    assert httpd.seen[1].headers["Cookie"] == "ptwebqq=tok"
    assert routed.cookie("ptwebqq") == "tok"


def test_absolute_redirect_to_another_qq_host(httpd, routed):
    httpd.route("/check_sig", status=302, headers=[("Location", "http://w.qq.com/proxy.html")])
    httpd.route("/proxy.html", body="ok")
    resp = routed.request("GET", "https://ptlogin2.web2.qq.com/check_sig")
    assert resp.status_code == 200 and resp.url == "http://w.qq.com/proxy.html"
    assert httpd.seen[1].headers["Host"] == "w.qq.com"


def test_other_hosts_are_not_routed(httpd, routed):
    httpd.route("/direct", body="d")
    assert routed.request("GET", httpd.url + "/direct").text == "d"
    assert httpd.seen[0].headers["Host"] == httpd.url.split("//")[1]


def test_non_2xx_is_retried_then_raised(httpd, routed):
    httpd.route("/api/get_self_info2", status=503, body="busy")
    with pytest.raises(TransportError) as err:
        routed.request("GET", "https://s.web2.qq.com/api/get_self_info2?t=1", attempts=3)
    assert err.value.status == 503
    assert len(httpd.seen) == 3


def test_bad_json_is_a_transport_error(httpd, routed):
    httpd.route("/channel/poll2", body="<html>oops</html>")
    with pytest.raises(TransportError, match="invalid JSON"):
        routed.json("POST", "http://d1.web2.qq.com/channel/poll2", form={"r": "{}"})


def test_connection_refused_is_a_transport_error(tmp_path):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    t = Transport(Config(server="http://127.0.0.1:%d" % port, tmpdir=str(tmp_path)))
    with pytest.raises(TransportError) as err:
        t.request("GET", "https://s.web2.qq.com/api/getvfwebqq?ptwebqq=SECRET&psessionid=SECRET",
                  attempts=2)
    assert isinstance(err.value.__cause__, Exception)
    assert "SECRET" in str(err.value.__cause__)      # requests quotes the URL...
    assert "SECRET" not in str(err.value) + err.value.url   # ...we do not
    assert not err.value.aborted


def _hold(httpd):
    def reply(seen):
        httpd.release.wait(10)
        return 200, [], b'{"retcode":0}'
    return reply


def test_read_timeout_is_poll_timeout(httpd, routed):
    httpd.routes["/channel/poll2"] = _hold(httpd)
    with pytest.raises(PollTimeout):
        routed.request("POST", "http://d1.web2.qq.com/channel/poll2", form={"r": "{}"}, timeout=0.3)


def test_abort_cuts_a_held_request_from_another_thread(httpd, routed):
    httpd.routes["/channel/poll2"] = _hold(httpd)
    session = routed.new_session()
    outcome = {}

    def poll():
        try:
            routed.request("POST", "http://d1.web2.qq.com/channel/poll2", session=session,
                           form={"r": "{}"}, timeout=60)
        except TransportError as e:
            outcome["error"] = e

    thread = threading.Thread(target=poll, name="test-poll")
    thread.start()
    assert httpd.got_request.wait(5)
    routed.abort(session)
    thread.join(5)
    assert not thread.is_alive()
    assert outcome["error"].aborted
    with pytest.raises(TransportError) as err:
        routed.request("GET", "http://w.qq.com/", session=session)
    assert err.value.aborted
    # the per-thread default session is unaffected
    httpd.route("/", body="home")
    assert routed.request("GET", "http://w.qq.com/").text == "home"


def test_cookie_file_round_trip(routed, tmp_path):
    routed.set_cookie("ptwebqq", "p1", "qq.com")
    routed.set_cookie("p_skey", "ps", "w.qq.com")
    future = time.time() + 3600
    from requests.cookies import create_cookie
    routed.cookies.set_cookie(create_cookie("supertoken", "st", domain="ptlogin2.qq.com",
                                            path="/", expires=int(future)))
    routed.cookies.set_cookie(create_cookie("old", "x", domain="qq.com", expires=1))
    path = str(tmp_path / "cookie.dat")
    routed.save_cookies(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    other = Transport(Config())
    assert other.load_cookies(path)
    assert other.cookie("ptwebqq") == "p1"
    assert other.cookie("supertoken") == "st"
    assert other.cookie("old") is None
    got = {c.name: (c.domain, c.path, c.expires) for c in other.cookies}
    assert got["supertoken"] == ("ptlogin2.qq.com", "/", int(future))
    assert got["p_skey"][0] == ".w.qq.com"


def test_load_cookies_missing_or_broken(tmp_path):
    t = Transport(Config())
    assert not t.load_cookies(str(tmp_path / "none"))
    bad = tmp_path / "bad"
    bad.write_text("{not json")
    assert not t.load_cookies(str(bad))


def test_cookie_ignores_domain_and_skips_expired():
    t = Transport(Config())
    t.set_cookie("skey", "a", "ptlogin2.qq.com")
    t.set_cookie("skey", "b", "qq.com")
    assert t.cookie("skey") == "a"   # domains in sorted order, as the original
    assert t.cookie("nope") is None


def test_redact_hides_tokens():
    url = "http://d1.web2.qq.com/channel/x?psessionid=S&clientid=1&vfwebqq=V&ptwebqq=P&t=2"
    assert redact(url) == ("http://d1.web2.qq.com/channel/x?psessionid=***&clientid=1"
                           "&vfwebqq=***&ptwebqq=***&t=2")


def test_logs_redacted_with_poll_at_debug(httpd, routed, caplog):
    httpd.route("/api/getvfwebqq", body="{}")
    httpd.route("/channel/poll2", body="{}")
    with caplog.at_level(logging.DEBUG, logger="openqq_sync.backends.smartqq.transport"):
        routed.json("GET", "https://s.web2.qq.com/api/getvfwebqq?ptwebqq=SECRET&t=1")
        routed.json("POST", "http://d1.web2.qq.com/channel/poll2", form={"r": "SECRET"})
    records = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert "SECRET" not in repr(records)
    assert records[0][0] == logging.INFO and "GET https://s.web2.qq.com/api/getvfwebqq?ptwebqq=***&t=1 -> 200" in records[0][1]
    assert records[1][0] == logging.DEBUG and "/channel/poll2 -> 200" in records[1][1]


def test_close_closes_every_connection_even_after_a_non_2xx(httpd, routed):
    httpd.route("/channel/poll2", status=502, body="bad gateway")
    session = routed.new_session()
    with pytest.raises(TransportError):
        routed.request("POST", "http://d1.web2.qq.com/channel/poll2", session=session, form={"r": "{}"})
    adapter = session.get_adapter("http://d1.web2.qq.com/")
    assert list(adapter._conns)          # the connection was tracked
    routed.close()
    assert all(c.sock is None for c in adapter._conns)


def _requests_header(t, url, headers=None):
    """The Cookie header requests itself builds for ``url`` from the transport's jar."""
    import requests
    from requests.cookies import get_cookie_header
    prepared = requests.Request("POST", url, headers=headers or {}).prepare()
    return get_cookie_header(t.cookies, prepared)


def test_cookie_header_cache_follows_every_change_of_the_jar(httpd, routed, monkeypatch):
    from requests.cookies import create_cookie
    httpd.route("/channel/send_buddy_msg2", body="{}")
    httpd.route("/proxy.html", body="ok", headers=[("Set-Cookie", "fresh=1; Domain=qq.com; Path=/")])
    url = "http://d1.web2.qq.com/channel/send_buddy_msg2"
    sent = []

    def send(**kw):
        routed.request("POST", url, form={"r": "{}"}, **kw)
        sent.append(httpd.seen[-1].headers.get("Cookie"))
        assert sent[-1] == (kw.get("headers") or {}).get("Cookie", _requests_header(routed, url))

    send()                                            # an empty jar: no header
    routed.set_cookie("skey", "a", "qq.com")
    send()
    send()                                            # cached
    routed.set_cookie("skey", "b", "qq.com")          # replaced
    send()
    routed.set_cookie("p_skey", "c", "ptlogin2.qq.com")  # another host's: not sent
    routed.set_cookie("psessionid", "d", "d1.web2.qq.com")
    send()
    routed.cookies.set("ptwebqq", "e", domain=".web2.qq.com", path="/channel")  # path-scoped
    send()
    routed.request("GET", "http://w.qq.com/proxy.html")  # a response that sets one
    send()
    del routed.cookies["skey"]
    send()
    # A clock of our own: with the real one a loaded machine could pass the expiry before
    # the first send (seen once in a full run).
    now = [time.time()]
    monkeypatch.setattr(time, "time", lambda: now[0])
    routed.cookies.set_cookie(create_cookie("soon", "f", domain=".qq.com", path="/",
                                            expires=int(now[0]) + 60))
    send()
    now[0] += 120                                     # past its expiry
    send()
    send(headers={"Cookie": "mine=1"})                # an explicit header wins, as in requests
    routed.cookies.clear()
    send()
    assert sent == [None, "skey=a", "skey=a", "skey=b", "skey=b; psessionid=d",
                    sent[5], sent[6], sent[7], sent[8], sent[9], "mine=1", None]
    assert "ptwebqq=e" in sent[5] and "fresh=1" in sent[6] and "skey" not in sent[7]
    assert "soon=f" in sent[8] and "soon=f" not in sent[9]
