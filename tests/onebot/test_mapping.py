"""OneBot v11 objects and events -> Openqq records (pure functions)."""

from __future__ import annotations

from openqq_sync.backends.onebot.mapping import (
    friend_record,
    friend_records,
    group_record,
    group_roles,
    heartbeat_online,
    member_record,
    message_item,
    notice_change,
    self_role,
    user_record,
)

ME = 10000


def test_friend_ids_are_the_qq_number_and_markname_comes_from_a_real_remark():
    napcat_no_remark = {"user_id": 20001, "nickname": "张三", "remark": "张三", "sex": "male"}
    with_remark = {"user_id": "20002", "nickname": "李四", "remark": "老李"}
    spec_empty = {"user_id": 20003, "nickname": "王五", "remark": ""}
    a, b, c = (friend_record(f) for f in (napcat_no_remark, with_remark, spec_empty))
    assert (a["id"], a["uid"], a["name"], a["markname"]) == (20001, 20001, "张三", None)
    assert (b["id"], b["uid"], b["markname"]) == (20002, 20002, "老李")
    assert c["markname"] is None
    assert (a["state"], a["client_type"], a["category"], a["face"]) == ("offline", "unknown", None, 0)


def test_friends_with_category_and_plain_list():
    answer = [
        {"categoryId": 0, "categoryName": "我的好友", "categoryMbCount": 2, "buddyList": [
            {"user_id": 1, "nickname": "甲", "remark": "甲"}, {"user_id": 2, "nickname": "乙", "remark": "小乙"}]},
        {"categoryId": 1, "categoryName": "家人", "buddyList": [{"user_id": 3, "nickname": "丙", "remark": ""},
                                                               {"nickname": "no id"}]},
        "junk",
    ]
    records = friend_records(answer)
    assert [(r["id"], r["category"], r["markname"]) for r in records] == [
        (1, "我的好友", None), (2, "我的好友", "小乙"), (3, "家人", None)]
    plain = friend_records([{"user_id": 4, "nickname": "丁", "remark": "丁"}, None])
    assert [(r["id"], r["category"]) for r in plain] == [(4, None)]
    assert friend_records(None) == []


def test_user_record_from_login_info_and_profile():
    rec = user_record({"user_id": ME, "nickname": "机器人"},
                      {"sex": "female", "long_nick": "签名", "birthday_year": 1999, "birthday_month": 3,
                       "birthday_day": 7})
    assert (rec["id"], rec["uid"], rec["account"], rec["name"]) == (ME, ME, ME, "机器人")
    assert (rec["sex"], rec["signature"], rec["birthday"], rec["state"]) == ("female", "签名", "1999-03-07", "online")
    assert rec["mobile"] is None and rec["email"] is None
    bare = user_record({"user_id": str(ME), "nickname": "x"}, None, online=False)
    assert (bare["id"], bare["sex"], bare["birthday"], bare["state"]) == (ME, None, None, "offline")


def test_members_and_the_group_role_and_owner():
    raw = [
        {"group_id": 500, "user_id": 30001, "nickname": "群主", "card": "", "role": "owner", "sex": "male",
         "join_time": 1600000000, "last_sent_time": 1700000000, "area": "", "unfriendly": False},
        {"group_id": 500, "user_id": ME, "nickname": "机器人", "card": "小机", "role": "admin",
         "join_time": 1600000001, "last_sent_time": 0, "unfriendly": True},
        {"group_id": 500, "user_id": 30003, "nickname": "路人", "role": "weird"},
    ]
    members = [member_record(m) for m in raw]
    owner, me, other = members
    assert (owner["id"], owner["uid"], owner["card"], owner["role"]) == (30001, 30001, None, "owner")
    assert (owner["join_time"], owner["last_speak_time"], owner["bad_record"]) == (1600000000, 1700000000, 0)
    assert (me["card"], me["bad_record"], other["role"]) == ("小机", 1, "member")
    assert (owner["city"], owner["province"], owner["state"], owner["client_type"]) == ("", "", "offline", "unknown")
    group = group_record({"group_id": 500, "group_name": "测试群", "member_count": 3, "max_member_count": 200,
                          "group_remark": ""}, members, ME)
    assert (group["id"], group["uid"], group["code"]) == (500, 500, 500)
    assert (group["name"], group["markname"]) == ("测试群", None)
    assert (group["role"], group["owner_id"], group["owner_uid"], group["max_member"]) == ("manage", 30001, 30001, 200)
    bare = group_record({"group_id": "501", "group_name": "另一个", "group_remark": "备注"})
    assert (bare["id"], bare["markname"]) == (501, "备注")
    # without members, role and owner are left out (a merge keeps what is known)
    assert "role" not in bare and "owner_id" not in bare
    assert group_roles([members[2]], ME) == {}
    assert [self_role(r) for r in ("owner", "admin", "member", None)] == ["create", "manage", "attend", None]


def test_message_items():
    friend = message_item({"post_type": "message", "message_type": "private", "sub_type": "friend",
                           "message_id": 77, "user_id": 20001, "time": 1700000000,
                           "message": [{"type": "text", "data": {"text": "你好"}},
                                       {"type": "face", "data": {"id": "14"}}]}, ME)
    assert friend == {"type": "friend_message", "id": 77, "sender_id": 20001, "receiver_id": ME, "via": None,
                      "time": 1700000000, "content": "你好[微笑]",
                      "raw_content": [{"type": "txt", "content": "你好"},
                                      {"type": "face", "id": 14, "content": "[微笑]"}]}
    group = message_item({"post_type": "message", "message_type": "group", "sub_type": "normal",
                          "message_id": 78, "group_id": 500, "user_id": 30001, "time": 1,
                          "message": "[CQ:at,qq=10000] 在吗"}, ME, {"10000": "机器人"}.get)
    assert (group["type"], group["group_id"], group["sender_id"], group["content"]) == (
        "group_message", 500, 30001, "@机器人 在吗")
    temp = message_item({"post_type": "message", "message_type": "private", "sub_type": "group",
                         "message_id": 79, "user_id": 30003, "group_id": 500, "time": 1, "message": []}, ME)
    assert (temp["type"], temp["via"], temp["group_id"], temp["sender_id"]) == ("sess_message", "group", 500, 30003)
    spec_temp = message_item({"message_type": "private", "sub_type": "group", "user_id": 30003,
                              "message": "x"}, ME)
    assert spec_temp["group_id"] is None
    own = message_item({"post_type": "message_sent", "message_type": "private", "sub_type": "friend",
                        "message_id": 80, "user_id": ME, "target_id": 20001, "time": 1, "message": "hi"}, ME)
    assert (own["sender_id"], own["receiver_id"]) == (ME, 20001)
    assert message_item({"message_type": "guild"}, ME) is None
    assert message_item({"post_type": "message_sent", "message_type": "private", "user_id": ME}, ME) is None


def test_notices():
    def n(**kw):
        return notice_change(kw, ME)

    assert n(notice_type="group_increase", sub_type="approve", group_id=500, user_id=30009) == (
        "new_group_member", {"group_id": 500, "user_id": 30009})
    assert n(notice_type="group_increase", sub_type="invite", group_id=501, user_id=ME) == (
        "new_group", {"group_id": 501})
    assert n(notice_type="group_decrease", sub_type="kick", group_id=500, user_id=30009) == (
        "lose_group_member", {"group_id": 500, "user_id": 30009})
    assert n(notice_type="group_decrease", sub_type="kick_me", group_id=500, user_id=ME)[0] == "lose_group"
    assert n(notice_type="group_decrease", sub_type="disband", group_id=500, user_id=30001)[0] == "lose_group"
    assert n(notice_type="friend_add", user_id=20009) == ("new_friend", {"user_id": 20009})
    assert n(notice_type="group_card", group_id=500, user_id=30001, card_new="新名片", card_old="") == (
        "member_card", {"group_id": 500, "user_id": 30001, "card": "新名片"})
    assert n(notice_type="group_card", group_id=500, user_id=30001, card_new="")[1]["card"] is None
    assert n(notice_type="group_admin", sub_type="set", group_id=500, user_id=30003) == (
        "member_role", {"group_id": 500, "user_id": 30003, "role": "admin"})
    assert n(notice_type="notify", sub_type="group_name", group_id=500, name_new="新群名") == (
        "group_name", {"group_id": 500, "name": "新群名"})
    assert n(notice_type="bot_offline", user_id=ME, tag="被下线", message="你的帐号当前登录已失效") == (
        "offline", {"message": "你的帐号当前登录已失效"})
    for ignored in ({"notice_type": "group_recall", "group_id": 500, "user_id": 1},
                    {"notice_type": "group_ban", "group_id": 500, "user_id": 1},
                    {"notice_type": "notify", "sub_type": "poke", "group_id": 500, "user_id": 1},
                    {"notice_type": "group_increase", "group_id": None, "user_id": 1}):
        assert notice_change(ignored, ME) is None


def test_heartbeat_online():
    assert heartbeat_online({"status": {"online": False, "good": True}, "interval": 30000}) is False
    assert heartbeat_online({"status": {"online": True}}) is True
    assert heartbeat_online({"status": {}}) is None
    assert heartbeat_online({}) is None
