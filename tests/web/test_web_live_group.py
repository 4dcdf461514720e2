"""kick_group_member and shutup_group_member over loopback; results checked in the sandbox's
admin log (``time`` is in seconds, at least 60: the spec wins, protocol doc 18)."""

from __future__ import annotations

from stacks import eventually


def _plain_members(group, me):
    return [m for m in group["members"] if m["role"] == "member" and m["uid"] != me]


def test_kick_by_uid_and_by_ids_answers_success(live):
    me = live.world["account"]["uid"]
    big = max((g for g in live.world["groups"] if g["role"] == "create"), key=lambda g: len(g["members"]))
    victims = _plain_members(big, me)[:3]
    assert live.get("/openqq/kick_group_member", group_uid=big["uid"], member_uid=victims[0]["uid"]) == \
        {"code": 0, "status": "success"}
    ids = ",".join(str(m["id"]) for m in victims[1:3])
    assert live.get("/openqq/kick_group_member", group_id=big["id"], member_id=ids) == \
        {"code": 0, "status": "success"}
    kicked = {r["member_uid"] for r in live.sandbox.world.admin_log if r["action"] == "kick" and r["ok"]}
    assert {m["uid"] for m in victims} <= kicked
    # The client dropped them locally too (lose_group_member with the group, 17 #4 fixed).
    group = live.get("/openqq/search_group", uid=big["uid"])[0]
    assert not {m["id"] for m in victims} & {m["id"] for m in group["member"]}
    want = {m["id"] for m in victims}
    eventually(lambda: {p["params"][0]["id"] for p in live.posts("event", "lose_group_member")} >= want)
    lost = live.posts("event", "lose_group_member")
    assert all(p["params"][1]["uid"] == big["uid"] for p in lost)


def test_shutup_in_seconds(live):
    me = live.world["account"]["uid"]
    group = next(g for g in live.world["groups"] if g["role"] == "manage")
    member = _plain_members(group, me)[0]
    assert live.get("/openqq/shutup_group_member", group_uid=group["uid"], member_uid=member["uid"],
                    time=120) == {"code": 0, "status": "success"}
    rec = [r for r in live.sandbox.world.admin_log if r["action"] == "shutup"][-1]
    assert rec == {**rec, "group_uid": group["uid"], "member_uid": member["uid"], "seconds": 120, "ok": True}


def test_admin_errors_answer_the_original_codes(live):
    me = live.world["account"]["uid"]
    own = next(g for g in live.world["groups"] if g["role"] == "create")
    member = _plain_members(own, me)[0]
    for route in ("kick_group_member", "shutup_group_member"):
        extra = {"time": 60} if route == "shutup_group_member" else {}
        assert live.get(f"/openqq/{route}", group_uid=1, member_uid=member["uid"], **extra) == \
            {"code": 100, "status": "object not found"}
        assert live.get(f"/openqq/{route}", member_uid=member["uid"], **extra) == \
            {"code": 100, "status": "object not found"}
        assert live.get(f"/openqq/{route}", group_uid=own["uid"], **extra) == \
            {"code": 200, "status": "member id empty"}
        assert live.get(f"/openqq/{route}", group_uid=own["uid"], member_uid=f"{member['uid']},42", **extra) == \
            {"code": 100, "status": "member 42 not found"}
    for bad in (None, "", "abc", "59", "-60", "1.5", "６０"):
        params = {"group_uid": own["uid"], "member_uid": member["uid"]}
        if bad is not None:
            params["time"] = bad
        assert live.get("/openqq/shutup_group_member", **params) == \
            {"code": 400, "status": "shutup time missing or error"}


def test_refused_by_role_answers_failure(live):
    me = live.world["account"]["uid"]
    attend = next(g for g in live.world["groups"] if g["role"] == "attend")
    member = _plain_members(attend, me)[0]
    assert live.get("/openqq/kick_group_member", group_uid=attend["uid"], member_uid=member["uid"]) == \
        {"code": 201, "status": "failure"}
    own = next(g for g in live.world["groups"] if g["role"] == "manage")
    owner = next(m for m in own["members"] if m["role"] == "owner")
    assert live.get("/openqq/shutup_group_member", group_uid=own["uid"], member_uid=owner["uid"], time=60) == \
        {"code": 201, "status": "failure"}
