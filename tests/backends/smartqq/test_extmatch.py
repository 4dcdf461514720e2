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


def _tied_group(members, owner_id=None):
    store = ContactStore()
    store.merge_groups([{"id": 1, "name": "g", "owner_id": owner_id}])
    group = store.group(1)
    store.merge_group_detail(group, None, members)
    return store, group


def test_a_tie_of_name_and_card_is_settled_by_sex_and_never_overwrites_it():
    store, group = _tied_group([
        {"id": 10, "name": "同名", "card": "卡", "sex": "male"},
        {"id": 11, "name": "同名", "card": "卡", "sex": "female"},
        {"id": 12, "name": "独一", "card": None, "sex": "male"}])
    match_group_members(store, group, [
        {"uid": 5012, "name": "独一", "card": None, "role": "member", "sex": None},
        {"uid": 5011, "name": "同名", "card": "卡", "role": "admin", "sex": "female"},
        {"uid": 5010, "name": "同名", "card": "卡", "role": "member", "sex": "male"}], report=False)
    assert (group.member(10).uid, group.member(10).role) == (5010, "member")
    assert (group.member(11).uid, group.member(11).role) == (5011, "admin")
    assert group.member(12).uid == 5012 and group.member(12).get("sex") == "male"


def test_a_tie_is_settled_by_ownership_and_the_last_one_left_pairs():
    # The owner (ginfo.owner is member 21, the ext marks 5021), of no known sex, is told
    # apart by ownership alone; the third, of unknown sex, is then the one left on each side.
    store, group = _tied_group([
        {"id": 20, "name": "同名", "card": None, "sex": "male"},
        {"id": 21, "name": "同名", "card": None, "sex": "unknown"},
        {"id": 22, "name": "同名", "card": None, "sex": "unknown"}], owner_id=21)
    match_group_members(store, group, [
        {"uid": 5020, "name": "同名", "card": None, "role": "member", "sex": "male"},
        {"uid": 5021, "name": "同名", "card": None, "role": "owner", "sex": None},
        {"uid": 5022, "name": "同名", "card": None, "role": "member", "sex": None}], report=False)
    assert [group.member(i).uid for i in (20, 21, 22)] == [5020, 5021, 5022]
    assert group.member(21).role == "owner"


def test_an_ambiguous_tie_stays_unmatched():
    # Same name, card and sex, neither the owner; unknown sexes; a sex the two lists
    # contradict: nothing here is certain, so nothing is paired.
    store, group = _tied_group([
        {"id": 30, "name": "甲", "card": None, "sex": "male"},
        {"id": 31, "name": "甲", "card": None, "sex": "male"},
        {"id": 32, "name": "乙", "card": None, "sex": "unknown"},
        {"id": 33, "name": "乙", "card": None, "sex": "unknown"},
        {"id": 34, "name": "丙", "card": "c", "sex": "male"},
        {"id": 35, "name": "丙", "card": "c", "sex": "female"}], owner_id=99)
    match_group_members(store, group, [
        {"uid": 5030, "name": "甲", "card": None, "role": "member", "sex": "male"},
        {"uid": 5031, "name": "甲", "card": None, "role": "member", "sex": "male"},
        {"uid": 5032, "name": "乙", "card": None, "role": "member", "sex": None},
        {"uid": 5033, "name": "乙", "card": None, "role": "member", "sex": None},
        {"uid": 5034, "name": "丙", "card": "c", "role": "member", "sex": "female"},
        {"uid": 5035, "name": "丙", "card": "c", "role": "member", "sex": "female"}], report=False)
    assert [m.uid for m in group.members] == [None] * 6
    assert all(m.get("role") is None for m in group.members)



def test_the_one_left_of_a_tie_stays_unmatched_when_the_lists_disagree():
    # The owner (member 43) is not the owner in the ext list: the female pair is certain,
    # the two left are not the same person by every account.
    store, group = _tied_group([
        {"id": 43, "name": "丁", "card": None, "sex": "male"},
        {"id": 44, "name": "丁", "card": None, "sex": "female"}], owner_id=43)
    match_group_members(store, group, [
        {"uid": 5043, "name": "丁", "card": None, "role": "member", "sex": "male"},
        {"uid": 5044, "name": "丁", "card": None, "role": "member", "sex": "female"}], report=False)
    assert (group.member(43).uid, group.member(44).uid) == (None, 5044)
