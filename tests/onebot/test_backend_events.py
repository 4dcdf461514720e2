"""Contact events and group admin over the onebot backend, end to end (sandbox OneBot face)."""

from __future__ import annotations

import pytest
from onebot_stack import OneBotStack


@pytest.fixture
def stack(tmp_path):
    s = OneBotStack(str(tmp_path))
    try:
        yield s
    finally:
        s.close()


def _event(name):
    return lambda b: b.get("post_type") == "event" and b.get("event") == name


def test_notices_become_the_original_events(stack):
    group = stack.group("attend")
    added = stack.control("add_group_member", group_uid=group["uid"], name="新来的", card="新人")
    new_uid = int(added.get("uid") or added.get("member", {}).get("uid"))
    ev = stack.wait_post(_event("new_group_member"))
    member, grp = ev["params"]
    assert (int(member["uid"]), member["name"], member["card"]) == (new_uid, "新来的", "新人")
    assert int(grp["uid"]) == group["uid"]

    stack.control("rename_group_member", group_uid=group["uid"], uid=new_uid, card="改名了")
    ev = stack.wait_post(_event("group_member_property_change"))
    obj, prop, old, new = ev["params"]
    assert (int(obj["uid"]), prop, old, new) == (new_uid, "card", "新人", "改名了")

    stack.control("remove_group_member", group_uid=group["uid"], uid=new_uid)
    ev = stack.wait_post(_event("lose_group_member"))
    assert int(ev["params"][0]["uid"]) == new_uid and int(ev["params"][1]["uid"]) == group["uid"]

    stack.control("add_friend", name="新朋友")
    ev = stack.wait_post(_event("new_friend"))
    assert ev["params"][0]["name"] == "新朋友" and int(ev["params"][0]["id"]) == int(ev["params"][0]["uid"])

    stack.control("add_group", name="新的群", role="admin", members=[{"name": "群友甲"}])
    ev = stack.wait_post(_event("new_group"))
    assert ev["params"][0]["name"] == "新的群"
    new_group = next(g for g in stack.api("get_group_info") if g["name"] == "新的群")
    assert new_group["role"] == "manage" and len(new_group["member"]) >= 2

    stack.control("remove_group", uid=int(new_group["uid"]))
    ev = stack.wait_post(_event("lose_group"))
    assert ev["params"][0]["name"] == "新的群"
    # each change was reported once
    assert [len(stack.posts("event", n)) for n in ("new_group_member", "lose_group_member", "new_friend",
                                                   "new_group", "lose_group")] == [1, 1, 1, 1, 1]


def test_shutup_and_kick_through_the_api(stack):
    group = stack.group("create")
    me = stack.world["account"]["uid"]
    victim = next(m for m in group["members"] if m["uid"] != me and m["role"] == "member")
    answer = stack.api("shutup_group_member", group_uid=group["uid"], member_uid=victim["uid"], time=600)
    assert answer["code"] == 0, answer
    admin = stack.sandbox_get("admin")
    text = str(admin)
    assert str(victim["uid"]) in text and "600" in text
    answer = stack.api("kick_group_member", group_uid=group["uid"], member_uid=victim["uid"])
    assert answer["code"] == 0, answer
    ev = stack.wait_post(_event("lose_group_member"))
    assert int(ev["params"][0]["uid"]) == victim["uid"]
    members = next(g for g in stack.api("get_group_info") if int(g["uid"]) == group["uid"])["member"]
    assert victim["uid"] not in {int(m["uid"]) for m in members}
    # the kick's own report and the server's group_decrease notice make one event, not two
    stack.control("add_friend", name="之后")     # a later change, as a marker that all came in
    stack.wait_post(_event("new_friend"))
    assert len(stack.posts("event", "lose_group_member")) == 1


def test_admin_change_and_a_temporary_message(stack):
    group = stack.group("create")
    me = stack.world["account"]["uid"]
    member = next(m for m in group["members"] if m["uid"] != me and m["role"] == "member")
    stack.control("rename_group_member", group_uid=group["uid"], uid=member["uid"], role="admin")
    ev = stack.wait_post(lambda b: b.get("event") == "group_member_property_change"
                         and b["params"][1] == "role")
    obj, prop, old, new = ev["params"]
    assert (int(obj["uid"]), old, new) == (member["uid"], "member", "admin")
    stack.control("message", type="sess_message", sender_uid=member["uid"], group_uid=group["uid"],
                  content="临时会话[微笑]")
    msg = stack.wait_post(lambda b: b.get("type") == "sess_message")
    assert (msg["content"], msg["via"], int(msg["group_uid"])) == ("临时会话[微笑]", "group", group["uid"])
    assert int(msg["sender_uid"]) == member["uid"]
