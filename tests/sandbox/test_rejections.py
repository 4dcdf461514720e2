"""Failed checks answer with the service's retcodes (README.md, "The SmartQQ sandbox" lists them)."""

from __future__ import annotations

import json

from ._smartqq import R_D, R_QINFO3, R_QUN, R_S, Walker, quoted

FRIENDS = "https://s.web2.qq.com/api/get_user_friends2"
GROUPS = "https://s.web2.qq.com/api/get_group_name_list_mask2"


def test_wrong_referer(walker):
    assert walker.get("https://s.web2.qq.com/api/get_self_info2", R_D, t=1).json()["retcode"] == 100000
    assert walker.get("https://s.web2.qq.com/api/get_self_info2", None, t=1).json()["retcode"] == 100000
    body = {"hash": walker.hash(), "vfwebqq": walker.vfwebqq}
    assert walker.post_r(FRIENDS, body, "http://w.qq.com/").json()["retcode"] == 100000
    r = walker.http.post("http://d1.web2.qq.com/channel/poll2", headers={"Referer": R_S},
                         data={"r": json.dumps({"clientid": 53999199, "psessionid": walker.psessionid})})
    assert r.json()["retcode"] == 100000
    r = walker.ext("http://qun.qq.com/cgi-bin/qun_mgr/get_group_list", referer="http://qun.qq.com/other.html")
    assert r.json()["ec"] == 1


def test_bad_friend_hash(walker):
    assert walker.post_r(FRIENDS, {"hash": "0" * 16, "vfwebqq": walker.vfwebqq}, R_S).json()["retcode"] == 50
    r = walker.get(GROUPS, r=json.dumps({"hash": "0" * 16, "vfwebqq": walker.vfwebqq}))
    assert r.json()["retcode"] == 50
    # The hash follows the ptwebqq sent in login2: a client that sent null hashes with "".
    walker.ptwebqq = None
    walker.login2()
    assert walker.post_r(FRIENDS, {"hash": walker.hash(), "vfwebqq": walker.vfwebqq}, R_S).json()["retcode"] == 0


def test_bad_vfwebqq(walker):
    assert walker.post_r(FRIENDS, {"hash": walker.hash(), "vfwebqq": "x"}, R_S).json()["retcode"] == 100000
    assert walker.get("https://s.web2.qq.com/api/get_group_info_ext2", gcode=1, vfwebqq="x", t=1).json()["retcode"] \
        == 100000


def test_unknown_group_code(walker):
    r = walker.get("https://s.web2.qq.com/api/get_group_info_ext2", gcode=123, vfwebqq=walker.vfwebqq, t=1)
    assert r.json()["retcode"] == 100001


def test_bad_bkn_and_missing_cookies(sandbox, walker):
    g = sandbox.world.snapshot()["groups"][0]
    assert walker.ext("http://qun.qq.com/cgi-bin/qun_mgr/get_friend_list", bkn=1).json()["ec"] == 1
    r = walker.ext("http://qun.qq.com/cgi-bin/qun_mgr/delete_group_member", bkn=1, gc=g["uid"], ul="1", flag=0)
    assert r.json()["ec"] == 1
    stranger = Walker(sandbox.url)
    assert stranger.ext("http://qun.qq.com/cgi-bin/qun_mgr/get_friend_list").json()["ec"] == 1
    assert sandbox.world.admin_log == []


def test_stale_psessionid_and_clientid(walker):
    params = walker.session_params()
    good = walker.get("https://s.web2.qq.com/api/get_discus_list", vfwebqq=walker.vfwebqq, t=1, **params)
    assert good.json()["retcode"] == 0
    params["clientid"] = 1
    r = walker.get("https://s.web2.qq.com/api/get_discus_list", vfwebqq=walker.vfwebqq, t=1, **params)
    assert r.json()["retcode"] == 103
    walker.psessionid = "0" * 80
    assert walker.poll().json()["retcode"] == 103


def test_relogin_makes_the_old_psessionid_stale(walker):
    old = walker.psessionid
    walker.getvfwebqq()   # with the previous psessionid, as the original does
    walker.login2()
    assert walker.psessionid != old
    walker2_params = {"clientid": 53999199, "psessionid": old}
    r = walker.get("http://d1.web2.qq.com/channel/get_online_buddies2", R_D, vfwebqq=walker.vfwebqq, t=1,
                   **walker2_params)
    assert r.json()["retcode"] == 103


def test_expired_session(sandbox, walker):
    assert sandbox.world.expire_session()
    assert walker.poll().json()["retcode"] == 103
    assert walker.get("https://s.web2.qq.com/api/get_self_info2", t=1).json()["retcode"] == 100000
    assert walker.ext("http://qun.qq.com/cgi-bin/qun_mgr/get_group_list").json()["ec"] == 1
    assert not Walker(sandbox.url, walker.http).quick_login()


def test_expired_qr(sandbox):
    sandbox.world.auto_scan = None
    w = Walker(sandbox.url)
    w.prepare()
    w.ptqrshow()
    sandbox.world.expire_qrcode()
    assert quoted(w.ptqrlogin().text)[0] == "65"
    # Unknown qrsig (say, from before a sandbox restart) is expired too.
    w.http.cookies.set("qrsig", "nope", domain=".ptlogin2.qq.com", path="/")
    assert quoted(w.ptqrlogin().text)[0] == "65"


def test_mute_and_kick_rights(sandbox, walker):
    snap = sandbox.world.snapshot()
    me = snap["account"]["uid"]
    owned, admin_of, plain = snap["groups"][0], snap["groups"][1], snap["groups"][2]
    assert owned["role"] == "create" and admin_of["role"] == "manage" and plain["role"] == "attend"

    def members(g, role):
        return [m["uid"] for m in g["members"] if m["role"] == role and m["uid"] != me]

    shut = "http://qinfo.clt.qq.com/cgi-bin/qun_info/set_group_shutup"
    kick = "http://qun.qq.com/cgi-bin/qun_mgr/delete_group_member"
    target = members(plain, "member")[0]
    # Plain member: no right.
    r = walker.ext(shut, R_QINFO3, gc=plain["uid"], shutup_list=json.dumps([{"uin": target, "t": 60}]))
    assert r.json()["ec"] == 7
    assert walker.ext(kick, gc=plain["uid"], ul=str(target), flag=0).json()["ec"] == 7
    # Admin of the group, but the target is the owner: refused.
    owner = admin_of["owner_uid"]
    r = walker.ext(shut, R_QINFO3, gc=admin_of["uid"], shutup_list=json.dumps([{"uin": owner, "t": 60}]))
    assert r.json()["ec"] == 7
    # Allowed: mute, unmute (t=0), kick.
    t2 = members(admin_of, "member")[0]
    r = walker.ext(shut, R_QINFO3, gc=admin_of["uid"], shutup_list=json.dumps([{"uin": t2, "t": 600}]))
    assert r.json()["ec"] == 0
    r = walker.ext(shut, R_QINFO3, gc=admin_of["uid"], shutup_list=json.dumps([{"uin": t2, "t": 0}]))
    assert r.json()["ec"] == 0
    t3 = members(owned, "member")[:2]
    assert walker.ext(kick, gc=owned["uid"], ul="|".join(map(str, t3)), flag=0).json()["ec"] == 0
    after = {m["uid"] for m in sandbox.world.snapshot()["groups"][0]["members"]}
    assert not set(t3) & after
    log = sandbox.world.admin_log
    assert [(x["action"], x["ok"]) for x in log] == [("shutup", False), ("kick", False), ("shutup", False),
                                                     ("shutup", True), ("shutup", True), ("kick", True),
                                                     ("kick", True)]
    assert [x["seconds"] for x in log if x["action"] == "shutup" and x["ok"]] == [600, 0]
    assert R_QUN
