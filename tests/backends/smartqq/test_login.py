"""LoginFlow against `responses`: the ptlogin text forms and the SmartQQ login calls."""

from __future__ import annotations

import dataclasses
import json
from urllib.parse import parse_qs

import pytest
from responses import matchers

from openqq_sync.backends.smartqq.hashes import hash33, time33
from openqq_sync.backends.smartqq.login import Credentials, LoginFlow, numify, parse_quoted
from openqq_sync.backends.smartqq.transport import Transport
from openqq_sync.config import Config
from openqq_sync.errors import AccountMismatch, LoginExpired, ProtocolError, TransportError

XLOGIN = "https://xui.ptlogin2.qq.com/cgi-bin/xlogin"
QRLOGIN = "https://ssl.ptlogin2.qq.com/ptqrlogin"


@pytest.fixture
def flow(tmp_path):
    t = Transport(Config(tmpdir=str(tmp_path), ua_retry_times=2))
    return LoginFlow(t, t.config)


def form_r(call) -> dict:
    return json.loads(parse_qs(call.request.body)["r"][0])


def test_parse_quoted_and_numify():
    assert parse_quoted("ptuiCB('66','0','','0','二维码未失效。(3203608000)', '');") == [
        "66", "0", "", "0", "二维码未失效。(3203608000)", ""]
    assert numify("0123") == 123 and numify("12abc") == 12 and numify("x") == 0
    assert numify(None) == 0


def test_prepare_remembers_the_first_login_sig(rsps, flow):
    rsps.get("http://w.qq.com/", body="")
    rsps.get(XLOGIN, body="", headers={"Set-Cookie": "pt_login_sig=SIG1; Domain=ptlogin2.qq.com; Path=/"},
             match=[matchers.header_matcher({"Referer": "http://w.qq.com/"})])
    assert flow.prepare()
    assert flow.pt_login_sig == "SIG1"


def test_prepare_fails_when_xlogin_fails(rsps, flow):
    rsps.get("http://w.qq.com/", status=500)
    rsps.get(XLOGIN, status=500)
    assert not flow.prepare()


@pytest.mark.parametrize("body, code, text", [
    ("ptuiCB('66','0','','0','二维码未失效。(3203608000)', '');", 66, "二维码未失效。(3203608000)"),
    ("ptuiCB('67','0','','0','二维码认证中。(1006641921)', '');", 67, "二维码认证中。(1006641921)"),
    ("ptuiCB('65','0','','0','二维码已失效。(4171256442)', '');", 65, "二维码已失效。(4171256442)"),
    ("ptuiCB('10005','0','','0','系统繁忙', '');", 10005, "系统繁忙"),
])
def test_check_qrcode_pending_states(rsps, flow, body, code, text):
    flow.t.set_cookie("qrsig", "qrsig_value_0123456789", "ptlogin2.qq.com")
    rsps.get(QRLOGIN, body=body)
    status = flow.check_qrcode()
    assert (status.code, status.text, status.uid) == (code, text, None)


def test_check_qrcode_success_takes_uid_from_uin_cookie(rsps, flow):
    flow.t.set_cookie("qrsig", "qrsig_value_0123456789", "ptlogin2.qq.com")
    flow.pt_login_sig = "SIG"
    url = "https://ptlogin2.web2.qq.com/check_sig?pttype=1&uin=123456789&ptsigx=abc"
    rsps.get(QRLOGIN, body="ptuiCB('0','0','%s','0','登录成功！', '小明');" % url, headers=[
        ("Set-Cookie", "uin=o0123456789; Domain=qq.com; Path=/"),
        ("Set-Cookie", "ptwebqq=PTW; Domain=qq.com; Path=/"),
    ], match=[matchers.header_matcher({"Referer": flow_referer()})])
    status = flow.check_qrcode()
    assert status.code == 0 and status.check_sig_url == url and status.nick == "小明"
    assert status.uid == 123456789 and flow.uid == 123456789 and flow.ptwebqq == "PTW"
    sent = rsps.calls[0].request.url
    assert sent == (
        "https://ssl.ptlogin2.qq.com/ptqrlogin?u1=http%3A%2F%2Fw.qq.com%2Fproxy.html"
        "&ptqrtoken=1442059150&ptredirect=0&h=1&t=1&g=1&from_ui=1&ptlang=2052"
        "&action=0-0-1516082717616&js_ver=10233&js_type=1&login_sig=SIG&pt_uistyle=40"
        "&aid=501004106&daid=164&mibao_css=m_webqq&")
    assert hash33("qrsig_value_0123456789") == 1442059150


def flow_referer():
    from openqq_sync.backends.smartqq._wire import R_X
    return R_X


def test_check_qrcode_garbage_is_a_protocol_error(rsps, flow):
    rsps.get(QRLOGIN, body="<html>")
    with pytest.raises(ProtocolError):
        flow.check_qrcode()


def test_fetch_qrcode_returns_png_and_sets_qrsig(rsps, flow):
    rsps.get("https://ssl.ptlogin2.qq.com/ptqrshow", body=b"\x89PNG...",
             headers={"Set-Cookie": "qrsig=Q1; Domain=ptlogin2.qq.com; Path=/"},
             match=[matchers.query_param_matcher(
                 {"appid": "501004106", "e": "2", "l": "M", "s": "3", "d": "72", "v": "4",
                  "daid": "164", "pt_3rd_aid": "0"}, strict_match=False)])
    assert flow.fetch_qrcode() == b"\x89PNG..."
    assert flow.t.cookie("qrsig") == "Q1"


def test_check_login_needs_supertoken_and_superuin(flow):
    assert flow.check_login() is None   # no request at all (RequestsMock not active)


def test_check_login_restorable(rsps, flow):
    flow.t.set_cookie("supertoken", "qrsig_value_0123456789", "ptlogin2.qq.com")
    flow.t.set_cookie("superuin", "o0123456789", "ptlogin2.qq.com")
    flow.t.set_cookie("ptwebqq", "SAVED", "qq.com")
    url = "https://ptlogin2.web2.qq.com/check_sig?pttype=2&uin=123456789&ptsigx=x"
    rsps.get("https://ssl.ptlogin2.qq.com/pt4_auth", body="ptui_auth_CB('0','%s')" % url,
             match=[matchers.query_param_matcher({"daid": "164", "appid": "501004106",
                                                  "auth_token": str(time33("qrsig_value_0123456789"))})])
    assert flow.check_login() == url + "&regmaster=&aid=501004106&s_url=http%3A%2F%2Fw.qq.com%2Fproxy.html"
    assert flow.ptwebqq == "SAVED"


@pytest.mark.parametrize("body", ["ptui_auth_CB('-1','')", "ptui_auth_CB('0','https://evil.example/check_sig')", ""])
def test_check_login_refused(rsps, flow, body):
    flow.t.set_cookie("supertoken", "st", "ptlogin2.qq.com")
    flow.t.set_cookie("superuin", "o1", "ptlogin2.qq.com")
    rsps.get("https://ssl.ptlogin2.qq.com/pt4_auth", body=body)
    assert flow.check_login() is None


def test_check_sig_follows_redirects(rsps, flow):
    rsps.get("https://ptlogin2.web2.qq.com/check_sig", status=302,
             headers=[("Location", "http://w.qq.com/proxy.html?login2qq=1&webqq_type=10"),
                      ("Set-Cookie", "p_skey=PS; Domain=web2.qq.com; Path=/")])
    rsps.get("http://w.qq.com/proxy.html", body="ok")
    flow.check_sig("https://ptlogin2.web2.qq.com/check_sig?pttype=1")
    assert flow.t.cookie("p_skey") == "PS"


def test_check_sig_failure_raises(rsps, flow):
    rsps.get("https://ptlogin2.web2.qq.com/check_sig", status=403)
    with pytest.raises(TransportError):
        flow.check_sig("https://ptlogin2.web2.qq.com/check_sig?x=1")


def test_get_vfwebqq(rsps, flow):
    flow.ptwebqq = "PTW"
    rsps.get("https://s.web2.qq.com/api/getvfwebqq", json={"retcode": 0, "result": {"vfwebqq": "VF"}},
             match=[matchers.query_param_matcher({"ptwebqq": "PTW", "clientid": "53999199",
                                                  "psessionid": ""}, strict_match=False),
                    matchers.header_matcher({"Referer": "https://s.web2.qq.com/proxy.html?v=20130916001&callback=1&id=1"})])
    assert flow.get_vfwebqq() == "VF"
    assert flow.vfwebqq == "VF"


def test_get_vfwebqq_bad_retcode(rsps, flow):
    rsps.get("https://s.web2.qq.com/api/getvfwebqq", json={"retcode": 100000})
    with pytest.raises(LoginExpired):
        flow.get_vfwebqq("old-session")


def test_login2_builds_credentials_and_proxies_cookies(rsps, flow):
    flow.uid, flow.ptwebqq, flow.vfwebqq = 2890374383, "PTW", "VF"
    flow.t.set_cookie("p_skey", "PS", "web2.qq.com")
    flow.t.set_cookie("p_uin", "o2890374383", "web2.qq.com")
    rsps.post("http://d1.web2.qq.com/channel/login2", json={"retcode": 0, "result": {
        "uin": 2890374383, "psessionid": "PSID", "vfwebqq": "ignored", "status": "online"}},
        match=[matchers.header_matcher({"Referer": "http://d1.web2.qq.com/proxy.html?v=20151105001&callback=1&id=2"})])
    creds = flow.login2()
    assert creds == Credentials(uid=2890374383, ptwebqq="PTW", vfwebqq="VF", psessionid="PSID",
                                clientid=53999199)
    assert form_r(rsps.calls[0]) == {"status": "online", "ptwebqq": "PTW", "clientid": 53999199,
                                     "psessionid": None}
    proxied = {(c.name, c.domain) for c in flow.t.cookies}
    assert ("p_skey", ".w.qq.com") in proxied and ("p_uin", ".w.qq.com") in proxied
    with pytest.raises(dataclasses.FrozenInstanceError):
        creds.psessionid = "x"


def test_login2_account_mismatch(rsps, flow):
    flow.uid, flow.vfwebqq = 111, "VF"
    rsps.post("http://d1.web2.qq.com/channel/login2", json={"retcode": 0, "result": {"uin": 222, "psessionid": "P"}})
    with pytest.raises(AccountMismatch):
        flow.login2()


def test_login2_retcode(rsps, flow):
    rsps.post("http://d1.web2.qq.com/channel/login2", json={"retcode": 103, "errmsg": "x"})
    with pytest.raises(LoginExpired) as err:
        flow.login2()
    assert err.value.body == {"retcode": 103, "errmsg": "x"}


def test_relink_copies_non_empty_fields(rsps, flow):
    old = Credentials(uid=1, ptwebqq="P0", vfwebqq="V0", psessionid="S0", clientid=53999199)
    rsps.post("http://d1.web2.qq.com/channel/login2", json={"retcode": 0, "result": {
        "psessionid": "S1", "vfwebqq": "", "ptwebqq": "P1", "skey": "@K"}})
    new = flow.relink(old)
    assert form_r(rsps.calls[0]) == {"status": "online", "key": "", "ptwebqq": "P0",
                                     "clientid": 53999199, "psessionid": "S0"}
    assert new == Credentials(uid=1, ptwebqq="P1", vfwebqq="V0", psessionid="S1", clientid=53999199)
    assert flow.t.cookie("skey") == "@K" and flow.t.cookie("ptwebqq") == "P1"


def test_relink_failure_raises(rsps, flow):
    rsps.post("http://d1.web2.qq.com/channel/login2", json={"retcode": 121})
    with pytest.raises(ProtocolError):
        flow.relink(Credentials(uid=1, ptwebqq=None, vfwebqq="V", psessionid="S"))


def test_logout_parameters_and_errors_ignored(rsps, flow):
    flow.t.set_cookie("pt4_token", "T4", "ptlogin2.qq.com")
    flow.t.set_cookie("skey", "abc", "qq.com")
    flow.t.set_cookie("ptcz", "a", "ptlogin2.qq.com")
    flow.ptwebqq = "P"
    rsps.get("https://ptlogin2.qq.com/logout", status=500,
             match=[matchers.query_param_matcher({"pt4_token": "T4", "pt4_hkey": str(time33("abc")),
                                                  "pt4_ptcz": "97", "deep_logout": "1"})])
    rsps.get("https://ptlogin2.qq.com/logout", status=500)
    flow.logout()
    assert flow.ptwebqq is None
