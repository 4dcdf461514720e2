"""Every contact endpoint, with the checks of the real service."""

from __future__ import annotations

import json

from ._smartqq import R_D, R_QINFO, R_QUN, R_S, bkn


def _ok(r):
    body = r.json()
    assert body["retcode"] == 0, body
    assert "\\u" not in r.text  # raw UTF-8, no escapes
    return body["result"]


def test_self_info(sandbox, walker):
    res = _ok(walker.get("https://s.web2.qq.com/api/get_self_info2", t=1))
    a = sandbox.world.data.account
    assert res["uin"] == a.qq and res["nick"] == a.nick and res["account"] == a.qq
    assert {"birthday", "face", "lnick", "gender", "vfwebqq"} <= set(res)


def test_friends_online_and_info(sandbox, walker):
    res = _ok(walker.post_r("https://s.web2.qq.com/api/get_user_friends2",
                            {"hash": walker.hash(), "vfwebqq": walker.vfwebqq}, R_S))
    snap = sandbox.world.snapshot()
    assert len(res["friends"]) == len(snap["friends"]) == 20
    assert {c["index"] for c in res["categories"]} == {1, 2}        # index 0 is implicit
    ids = {f["id"]: f for f in snap["friends"]}
    import html
    for info in res["info"]:
        assert html.unescape(info["nick"]) == ids[info["uin"]]["name"]
    assert all("categories" in f and "flag" in f for f in res["friends"])

    online = _ok(walker.get("http://d1.web2.qq.com/channel/get_online_buddies2", R_D,
                            vfwebqq=walker.vfwebqq, t=1, **walker.session_params()))
    assert online and all(o["uin"] in ids and o["status"] for o in online)

    fid = res["friends"][0]["uin"]
    info = _ok(walker.get("https://s.web2.qq.com/api/get_friend_info2", tuin=fid, vfwebqq=walker.vfwebqq,
                          t=1, **walker.session_params()))
    assert info["uin"] == fid
    lnick = _ok(walker.get("https://s.web2.qq.com/api/get_single_long_nick2", tuin=fid, vfwebqq=walker.vfwebqq, t=1))
    assert lnick[0]["uin"] == fid
    recent = _ok(walker.post_r("http://d1.web2.qq.com/channel/get_recent_list2",
                               dict(vfwebqq=walker.vfwebqq, **walker.session_params())))
    assert {x["type"] for x in recent} == {0, 1, 2}


def test_groups_and_group_detail(sandbox, walker):
    res = _ok(walker.get("https://s.web2.qq.com/api/get_group_name_list_mask2",
                         r=json.dumps({"hash": walker.hash(), "vfwebqq": walker.vfwebqq})))
    snap = sandbox.world.snapshot()
    assert len(res["gnamelist"]) == 5
    by_id = {g["id"]: g for g in snap["groups"]}
    for entry in res["gnamelist"]:
        g = by_id[entry["gid"]]
        assert entry["code"] == g["code"]
        detail = _ok(walker.get("https://s.web2.qq.com/api/get_group_info_ext2", gcode=entry["code"],
                                vfwebqq=walker.vfwebqq, t=1))
        assert detail["ginfo"]["gid"] == entry["gid"]
        assert len(detail["minfo"]) == len(g["members"]) == len(detail["stats"]) == len(detail["ginfo"]["members"])
        assert sandbox.world.data.account.qq in {m["uin"] for m in detail["minfo"]}   # own id = uin
        owner = [m for m in g["members"] if m["role"] == "owner"][0]
        assert detail["ginfo"]["owner"] == owner["id"]
    # group sizes 5..50
    assert sorted(len(g["members"]) for g in snap["groups"]) == [5, 12, 20, 35, 50]


def test_discussions(sandbox, walker):
    res = _ok(walker.get("https://s.web2.qq.com/api/get_discus_list", vfwebqq=walker.vfwebqq, t=1,
                         **walker.session_params()))
    snap = sandbox.world.snapshot()
    assert [d["did"] for d in res["dnamelist"]] == [d["id"] for d in snap["discusses"]]
    assert [d["key"] for d in snap["discusses"]] == ["d1", "d2"]
    for d in snap["discusses"]:
        info = _ok(walker.get("http://d1.web2.qq.com/channel/get_discu_info", R_D, did=d["id"],
                              vfwebqq=walker.vfwebqq, t=1, **walker.session_params()))
        assert info["info"]["discu_name"] == d["name"]
        assert {m["ruin"] for m in info["info"]["mem_list"]} == {m["uid"] for m in d["members"]}


def test_ext_endpoints_with_qr_cookies(sandbox, walker):
    snap = sandbox.world.snapshot()
    r = walker.ext("http://qun.qq.com/cgi-bin/qun_mgr/get_friend_list").json()
    assert r["ec"] == 0
    uids = {m["uin"] for cat in r["result"].values() for m in cat["mems"]}
    assert uids == {f["uid"] for f in snap["friends"]}
    r = walker.ext("http://qun.qq.com/cgi-bin/qun_mgr/get_group_list").json()
    assert r["ec"] == 0 and len(r["create"]) == 2 and len(r["manage"]) == 1 and len(r["join"]) == 2
    g = snap["groups"][1]
    r = walker.ext("http://qinfo.clt.qq.com/cgi-bin/qun_info/get_group_members", R_QINFO,
                   gc=g["uid"], u=walker.uin).json()
    assert r["ec"] == 0 and r["owner"] == g["owner_uid"]
    assert {m["u"] for m in r["mems"]} == {m["uid"] for m in g["members"]}
    assert set(r["adm"]) == {m["uid"] for m in g["members"] if m["role"] == "admin"}
    r = walker.ext("http://qun.qq.com/cgi-bin/qun_mgr/search_group_members", gc=g["uid"], st=0, end=2000,
                   sort=0).json()
    assert r["ec"] == 0 and r["count"] == len(g["members"])
    assert bkn(walker.cookie("skey")) > 0
    assert R_QUN
