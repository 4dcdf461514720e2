"""Reading and searching contacts over loopback against a logged-in client on the sandbox."""

from __future__ import annotations

import json

import requests


def _unique_friend(live):
    names = [f["name"] for f in live.world["friends"]]
    return next(f for f in live.world["friends"] if names.count(f["name"]) == 1 and not f["markname"])


def test_get_user_info_is_the_account(live):
    r = requests.get(live.url + "/openqq/get_user_info", timeout=10)
    assert r.headers["Content-Type"] == "application/json;charset=UTF-8"
    user = r.json()
    assert user["uid"] == live.world["account"]["uid"]
    assert user["name"] == live.world["account"]["name"]
    # Chinese travels as raw UTF-8, never \u escapes.
    assert live.world["account"]["name"].encode("utf-8") in r.content
    assert b"\\u" not in r.content


def test_get_friend_info_lists_every_friend(live):
    friends = live.get("/openqq/get_friend_info")
    want = {(f["id"], f["name"], f["category"]) for f in live.world["friends"]}
    assert {(f["id"], f["name"], f["category"]) for f in friends} == want
    # uids come from ext matching (6.7): present ones are right; ambiguous ones stay unset.
    uids = {f["id"]: f["uid"] for f in live.world["friends"]}
    assert sum(1 for f in friends if f.get("uid") is not None) >= len(friends) // 2
    assert all(f["uid"] == uids[f["id"]] for f in friends if f.get("uid") is not None)
    for f in friends:
        assert {"id", "name", "category", "markname", "state", "client_type", "face"} <= set(f)


def test_group_info_with_and_without_members(live):
    basic = live.get("/openqq/get_group_basic_info")
    assert {g["uid"] for g in basic} == {g["uid"] for g in live.world["groups"]}
    assert all("member" not in g for g in basic)
    full = live.get("/openqq/get_group_info")
    assert {g["uid"] for g in full} == {g["uid"] for g in live.world["groups"]}
    for group in full:
        world = live.group(uid=group["uid"])
        assert {m["id"] for m in group.get("member", [])} == {m["id"] for m in world["members"]}


def test_get_discuss_info(live):
    discusses = live.get("/openqq/get_discuss_info")
    assert {d["name"] for d in discusses} == {d["name"] for d in live.world["discusses"]}
    for d in discusses:
        assert all(isinstance(m["id"], str) for m in d["member"])     # 10.5


def test_search_friend_by_any_attribute_and_both_spellings(live):
    f = _unique_friend(live)
    for path in ("/openqq/search_friend", "/openwx/search_friend"):
        found = live.get(path, uid=f["uid"])
        assert [x["id"] for x in found] == [f["id"]]
    found = live.get("/openqq/search_friend", name=f["name"], category=f["category"])
    assert f["id"] in [x["id"] for x in found]
    marked = next(x for x in live.world["friends"] if x["markname"])
    assert [x["uid"] for x in live.get("/openqq/search_friend", markname=marked["markname"])] == [marked["uid"]]
    # POST form and JSON bodies work the same.
    r = requests.post(live.url + "/openqq/search_friend", data={"uid": f["uid"]}, timeout=10).json()
    assert [x["id"] for x in r] == [f["id"]]
    r = requests.post(live.url + "/openqq/search_friend", json={"uid": f["uid"]}, timeout=10).json()
    assert [x["id"] for x in r] == [f["id"]]


def test_search_ignores_framework_parameters_and_never_500s(live):
    f = _unique_friend(live)
    r = requests.get(live.url + "/openqq/search_friend", timeout=10,
                     params={"uid": f["uid"], "datatype": "jsonp", "callback": "cb", "async": "1",
                             "client": "x", "_": "123"})
    assert r.status_code == 200 and r.text.startswith("cb([")
    assert json.loads(r.text[3:-1])[0]["id"] == f["id"]
    for params in ({"no_such_attribute": "1"}, {"uid": "0"}, {"name": "没有这个人"}):
        r = requests.get(live.url + "/openqq/search_friend", params=params, timeout=10)
        assert r.status_code == 200
        assert r.json() == {"code": 100, "status": "object not found"}


def test_search_group_returns_groups_with_members(live):
    g = live.world["groups"][1]
    for path in ("/openqq/search_group", "/openwx/search_group"):
        found = live.get(path, uid=g["uid"], member="ignored")
        assert len(found) == 1 and found[0]["id"] == g["id"]
        assert {m["id"] for m in found[0]["member"]} == {m["id"] for m in g["members"]}
    found = live.get("/openqq/search_group", name=g["name"])
    assert g["id"] in [x["id"] for x in found]
    assert live.get("/openqq/search_group", uid="1") == {"code": 100, "status": "object not found"}
    assert live.get("/openqq/search_group", bogus="x") == {"code": 100, "status": "object not found"}


def test_cached_reads_show_a_change_on_the_next_call(live):
    """Read answers are cached as bytes per store version; a refresh must invalidate them."""
    f = _unique_friend(live)
    before = live.get("/openqq/get_friend_info")
    assert live.get("/openqq/get_friend_info") == before          # served again, unchanged
    live.sandbox.world.rename_friend(f["uid"], name="改名 <新> & 好友")
    live.client.refresh_contacts()
    after = {x["id"]: x for x in live.get("/openqq/get_friend_info")}
    assert after[f["id"]]["name"] == "改名 <新> & 好友"
    found = live.get("/openqq/search_friend", name="改名 <新> & 好友")
    assert [x["id"] for x in found] == [f["id"]]
