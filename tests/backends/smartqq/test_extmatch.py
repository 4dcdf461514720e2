"""qun.qq.com's ext data matched onto a ContactStore by SmartQQ's keys (protocol doc 6.7)."""

from openqq_sync.backends.smartqq.extmatch import match_friends, match_group_members, match_groups
from openqq_sync.client.contacts import ContactStore, truncate_utf8


def test_friend_ext_matching_excludes_duplicates():
    store = ContactStore()
    store.merge_friends([
        {"id": 1, "name": "甲", "markname": None, "category": "朋友"},
        {"id": 2, "name": "乙", "markname": "备注乙", "category": "朋友"},
        {"id": 3, "name": "重名", "markname": None, "category": "朋友"},
        {"id": 4, "name": "重名", "markname": None, "category": "朋友"},
    ])
    matched = match_friends(store, [
        {"displayname": "甲", "category": "朋友", "uid": 1001},
        {"displayname": "备注乙", "category": "朋友", "uid": 1002},
        {"displayname": "重名", "category": "朋友", "uid": 1003},
        {"displayname": "甲", "category": "家人", "uid": 1009},
    ])
    assert matched == 2
    assert store.friend(1).uid == 1001 and store.friend(2).uid == 1002
    assert store.friend(3).uid is None and store.friend(4).uid is None


def test_group_ext_and_member_ext_matching():
    store = ContactStore()
    store.merge_groups([{"id": 1, "name": "<群&>", "code": 5}, {"id": 2, "name": "dup"},
                        {"id": 3, "name": "dup"}])
    changes = match_groups(store, [
        {"name": "<群&>", "uid": 777, "owner_uid": 1, "role": "create"},
        {"name": "dup", "uid": 778, "owner_uid": 1, "role": "attend"},
    ])
    assert {c[1]["property"] for c in changes} == {"uid", "owner_uid", "role"}
    assert store.group(1).uid == 777 and store.group(2).uid is None
    group = store.group(1)
    long_card = "一二三四五六七八九十"  # 30 bytes: cut to 21 bytes = 7 characters
    store.merge_group_detail(group, None, [
        {"id": 10, "name": "甲", "card": truncate_utf8(long_card, 21)},
        {"id": 11, "name": "乙", "card": None},
    ])
    match_group_members(store, group, [
        {"uid": 5010, "name": "甲", "card": long_card, "role": "owner"},
        {"uid": 5011, "name": "乙", "card": None, "role": "member"},
    ])
    assert group.member(10).uid == 5010 and group.member(10).role == "owner"
    assert group.member(11).uid == 5011
    assert group.to_json()["max_member"] is None


def test_member_ext_of_a_first_load_is_stored_without_changes():
    store = ContactStore()
    store.merge_groups([{"id": 1, "name": "g"}])
    group = store.group(1)
    store.merge_group_detail(group, None, [
        {"id": 10, "name": "甲", "card": "一二三四五六七", "sex": "male"},
        {"id": 11, "name": "乙", "card": None},
        {"id": 12, "name": "丙", "card": None}, {"id": 13, "name": "丙", "card": None}])
    assert match_group_members(store, group, [
        {"uid": 5010, "name": "甲", "card": "一二三四五六七八九十", "role": "owner", "join_time": 1},
        {"uid": 5011, "name": "乙", "role": "member", "extra": 1},
        {"uid": 5012, "name": "丙", "card": None},                    # two members of that key
        {"uid": 5013, "name": ["garbled"], "card": None},             # unhashable: matches nothing
        {"uid": 5014, "name": "丁", "card": {"x": 1}},
    ], report=False) == []
    assert list(group.member(10).to_json().items()) == [
        ("id", 10), ("name", "甲"), ("card", "一二三四五六七"), ("sex", "male"), ("uid", 5010),
        ("role", "owner"), ("join_time", 1)]
    assert list(group.member(11).to_json().items()) == [
        ("id", 11), ("name", "乙"), ("card", None), ("uid", 5011), ("role", "member"), ("extra", 1)]
    assert group.member(12).uid is None and group.member(13).uid is None
