"""The QR login walked with plain requests, exactly as protocol document 5 describes."""

from __future__ import annotations

from ._smartqq import R_D, R_S, R_X, Walker, friend_hash, hash33, quoted


def test_qr_login_walk(sandbox):
    w = Walker(sandbox.url)
    r = w.prepare()
    assert r.status_code == 200
    assert w.cookie("pt_login_sig")

    r = w.ptqrshow()
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/png"
    assert r.content.startswith(b"\x89PNG\r\n\x1a\n")
    qrsig = [c for c in w.http.cookies if c.name == "qrsig"][0]
    assert qrsig.domain in (".ptlogin2.qq.com", "ptlogin2.qq.com") and qrsig.path == "/" and not qrsig.secure

    fields = w.wait_qr()
    assert fields[0] == "0" and fields[4] == "登录成功！"
    assert fields[2].startswith("https://ptlogin2.web2.qq.com/check_sig?")
    account = sandbox.world.data.account
    assert w.cookie("uin") == "o%010d" % account.qq
    for name in ("skey", "superuin", "supertoken", "ptwebqq"):
        assert w.cookie(name), name

    r = w.check_sig()
    assert r.status_code == 200 and r.history and r.history[0].status_code == 302
    assert r.url == "http://w.qq.com/proxy.html?login2qq=1&webqq_type=10"
    for name in ("p_skey", "p_uin", "pt4_token"):
        assert w.cookie(name), name

    r = w.getvfwebqq()
    assert r.json()["retcode"] == 0 and r.json()["result"]["vfwebqq"] == w.vfwebqq
    r = w.login2()
    result = r.json()["result"]
    assert str(result["uin"]) == str(account.qq)
    assert set(w.psessionid) <= set("0123456789abcdef")
    assert result["vfwebqq"] == w.vfwebqq


def test_qr_states_scanned_then_confirmed_by_control(sandbox):
    sandbox.world.auto_scan = None
    sandbox.world.auto_confirm = None
    w = Walker(sandbox.url)
    w.prepare()
    w.ptqrshow()
    assert quoted(w.ptqrlogin().text)[0] == "66"
    assert sandbox.world.scan() == 1
    f = quoted(w.ptqrlogin().text)
    assert f[0] == "67" and "二维码认证中" in f[4]
    assert sandbox.world.confirm() == 1
    assert quoted(w.ptqrlogin().text)[0] == "0"
    # A used QR code is spent.
    assert quoted(w.ptqrlogin().text)[0] == "65"


def test_expired_qrcode_answers_65_and_a_new_one_works(sandbox):
    sandbox.world.auto_scan = None
    w = Walker(sandbox.url)
    w.prepare()
    w.ptqrshow()
    assert sandbox.world.expire_qrcode() == 1
    f = quoted(w.ptqrlogin().text)
    assert f[0] == "65" and "二维码已失效" in f[4]
    w.ptqrshow()
    sandbox.world.scan()
    assert w.wait_qr()[0] == "0"


def test_qrcode_expires_after_ttl(sandbox):
    sandbox.world.auto_scan = None
    sandbox.world.qrcode_ttl = 0.0
    w = Walker(sandbox.url)
    w.prepare()
    w.ptqrshow()
    assert quoted(w.ptqrlogin().text)[0] == "65"


def test_ptqrlogin_rejects_bad_token_and_referer(sandbox):
    w = Walker(sandbox.url)
    w.prepare()
    w.ptqrshow()
    good = hash33(w.cookie("qrsig"))
    assert quoted(w.ptqrlogin(token=good + 1).text)[0] == "7"
    assert quoted(w.ptqrlogin(referer="http://evil.example/").text)[0] == "7"


def test_vfwebqq_and_login2_need_the_check_sig_cookies(sandbox):
    w = Walker(sandbox.url)
    w.prepare()
    w.ptqrshow()
    assert w.wait_qr()[0] == "0"
    # check_sig not visited yet: the login is not usable.
    assert w.getvfwebqq().json()["retcode"] == 100000
    w.check_sig()
    assert w.getvfwebqq(referer=R_D).json()["retcode"] == 100000   # wrong Referer
    assert w.getvfwebqq().json()["retcode"] == 0
    # check_sig is one-time.
    assert w.check_sig().status_code == 403


def test_quick_relogin_keeps_ids_and_logout_kills_it(sandbox):
    w = Walker(sandbox.url).qr_login()
    ids_before = sandbox.world.snapshot()
    old_psessionid = w.psessionid
    # A restarted client with the saved cookie jar: pt4_auth then check_sig, getvfwebqq, login2.
    w2 = Walker(sandbox.url)
    w2.http.cookies.update(w.http.cookies)
    w2.prepare()
    assert w2.quick_login()
    assert w2.psessionid != old_psessionid
    assert sandbox.world.snapshot() == ids_before          # same ids
    # The old psessionid is dead (one session per login).
    assert w.poll(timeout=5).json()["retcode"] == 103

    w2.logout()
    assert w2.cookie("supertoken") is None or not w2.quick_login()
    assert w2.poll(timeout=5).json()["retcode"] == 103
    # pt4_auth fails even with the old supertoken kept by hand.
    w3 = Walker(sandbox.url)
    w3.http.cookies.update(w.http.cookies)
    assert not w3.quick_login()


def test_ids_fresh_per_qr_login_and_qq_numbers_stable(sandbox):
    Walker(sandbox.url).qr_login()
    first = sandbox.world.snapshot()
    Walker(sandbox.url).qr_login()
    second = sandbox.world.snapshot()
    f1 = {f["uid"]: f["id"] for f in first["friends"]}
    f2 = {f["uid"]: f["id"] for f in second["friends"]}
    assert f1.keys() == f2.keys()                       # same QQ numbers
    assert all(f1[k] != f2[k] for k in f1)              # fresh ids
    assert [g["id"] for g in first["groups"]] != [g["id"] for g in second["groups"]]
    assert [g["code"] for g in first["groups"]] != [g["code"] for g in second["groups"]]
    assert [d["id"] for d in first["discusses"]] != [d["id"] for d in second["discusses"]]
    # The account's own id is its QQ number, both times.
    assert first["account"]["id"] == second["account"]["id"] == first["account"]["uid"]


def test_same_seed_same_qq_numbers_across_servers(sandbox):
    from openqq_sync.sandbox import SandboxServer

    other = SandboxServer(seed=1, port=0)
    a = sandbox.world.snapshot(members=False)
    b = other.world.snapshot(members=False)
    assert [f["uid"] for f in a["friends"]] == [f["uid"] for f in b["friends"]]
    assert [g["uid"] for g in a["groups"]] == [g["uid"] for g in b["groups"]]
    assert a["account"]["uid"] == b["account"]["uid"]


def test_friend_hash_uses_login2_ptwebqq(walker):
    assert walker.hash() == friend_hash(walker.ptwebqq, walker.uin)
    assert R_X and R_S  # referers exported for other tests
