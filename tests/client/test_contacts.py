"""ContactStore: first load, list diffs, member diffs, ext matching and search."""

import threading

from openqq_sync.client.contacts import ContactStore, truncate_utf8


def _names(changes):
    return [name for name, _ in changes]


def test_first_load_emits_nothing_then_diffs():
    store = ContactStore()
    assert store.merge_friends([{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]) == []
    changes = store.merge_friends([{"id": 2, "name": "b2"}, {"id": 3, "name": "c"}])
    assert _names(changes) == ["friend_property_change", "new_friend", "lose_friend"]
    prop = changes[0][1]
    assert (prop["property"], prop["old"], prop["new"]) == ("name", "b", "b2")
    assert changes[1][1]["friend"].id == 3 and changes[2][1]["friend"].id == 1
    assert [f.id for f in store.friends()] == [2, 3]


def test_groups_and_members_diff_with_group_in_payload():
    store = ContactStore()
    changes, added = store.merge_groups([{"id": 1, "name": "g", "code": 11}])
    assert changes == [] and [g.id for g in added] == [1]
    group = store.group(1)
    assert not group.members_loaded
    assert store.merge_group_detail(group, {"id": 1, "memo": "m"}, [{"id": 5, "name": "x"}]) == [
        ("group_property_change", {"obj": group, "property": "memo", "old": None, "new": "m"})]
    changes = store.merge_group_detail(group, None, [{"id": 6, "name": "y"}])
    assert _names(changes) == ["new_group_member", "lose_group_member"]
    assert changes[0][1]["group"] is group and changes[1][1]["member"].id == 5
    # An empty member list from the service is ignored.
    assert store.merge_group_detail(group, None, []) == []
    assert [m.id for m in group.members] == [6]
    assert group.member(6).group is group
    changes, added = store.merge_groups([{"id": 2, "name": "h"}])
    assert _names(changes) == ["new_group", "lose_group"] and added[0].id == 2


def test_discuss_detail_members():
    store = ContactStore()
    store.merge_discusses([{"id": 9, "name": "讨论"}])
    d = store.discuss(9)
    rec = {"id": 9, "name": "讨论", "owner_id": 1, "member": [{"id": 1, "name": "a", "uid": 10}]}
    assert store.merge_discuss_detail(d, rec) == [
        ("discuss_property_change", {"obj": d, "property": "owner_id", "old": None, "new": 1})]
    rec["member"] = [{"id": 1, "name": "a2", "uid": 10}, {"id": 2, "name": "b", "uid": 20}]
    changes = store.merge_discuss_detail(d, rec)
    assert _names(changes) == ["discuss_member_property_change", "new_discuss_member"]
    assert changes[1][1]["discuss"] is d and d.member(2).discuss is d
    assert "member" not in d.to_json()["member"][0]


def test_a_first_member_load_builds_the_members_and_leaves_the_records_alone():
    store = ContactStore()
    store.merge_friends([{"id": 7, "name": "f", "markname": "好友备注"}])
    store.merge_groups([{"id": 1, "name": "g"}])
    group = store.group(1)
    records = [{"id": 7, "name": "a", "card": None, "member": "dropped"}, {"id": "8", "name": "b"},
               {"id": 8, "name": "b2"}]
    before = [dict(r) for r in records]
    assert store.merge_group_detail(group, None, records) == []
    assert records == before
    # A later duplicate id wins in the first one's place, as the diff of a later load does.
    assert [m.name for m in group.members] == ["a", "b2"]
    assert group.member(7).displayname == "好友备注"   # the store context is set
    assert group.member("8").group is group and group.member(7).to_json() == {"id": 7, "name": "a", "card": None}
    # The next load diffs against them.
    changes = store.merge_group_detail(group, None, [{"id": 7, "name": "a", "card": "c"}])
    assert _names(changes) == ["group_member_property_change", "lose_group_member"]


def test_an_owned_first_load_builds_the_members_around_the_records():
    store = ContactStore()
    store.merge_groups([{"id": 1, "name": "g"}])
    group = store.group(1)
    records = [{"id": 5, "name": "x", "member": 1}]
    assert store.merge_group_detail(group, None, records, owned=True) == []
    member = group.member(5)
    assert member._data is records[0] and member.group is group
    assert member.to_json() == {"id": 5, "name": "x"}
    # A later load diffs (copies of the records), owned or not.
    later = [{"id": 5, "name": "y"}, {"id": 6, "name": "z"}]
    changes = store.merge_group_detail(group, None, later, owned=True)
    assert _names(changes) == ["group_member_property_change", "new_group_member"]
    assert later == [{"id": 5, "name": "y"}, {"id": 6, "name": "z"}]


def test_truncate_utf8():
    assert truncate_utf8("abc", 21) == "abc"
    assert truncate_utf8("一二三四五六七八", 21) == "一二三四五六七"
    assert truncate_utf8("a" * 21, 21) == "a" * 21
    assert truncate_utf8("🐧🐧🐧🐧🐧🐧", 21) == "🐧🐧🐧🐧🐧"
    assert truncate_utf8(None, 21) is None


def test_search_semantics():
    store = ContactStore()
    store.merge_friends([{"id": 1, "name": "张三", "category": "朋友", "markname": None},
                         {"id": 2, "name": "李四", "category": "朋友", "markname": "老李"}])
    assert [f.id for f in store.search_friends(category="朋友")] == [1, 2]
    assert [f.id for f in store.search_friends(category="朋友", id="2")] == [2]
    assert [f.id for f in store.search_friends(displayname="老李")] == [2]
    assert store.search_friends(bogus="1") == []
    assert len(store.search_friends()) == 2
    store.merge_groups([{"id": 1, "name": "g"}])
    assert [g.id for g in store.search_groups(name="g", member="ignored")] == [1]
    group = store.group(1)
    store.merge_group_detail(group, None, [{"id": 3, "name": "m", "uid": 33}])
    assert store.search_group_members(group, uid="33")[0].id == 3


def test_placeholders_and_kick_removal():
    store = ContactStore()
    store.merge_friends([{"id": 1, "name": "a"}])
    ph = store.add_placeholder_friend(99)
    assert ph.placeholder and ph.to_json() == {"id": 99, "name": "昵称未知", "category": "陌生人"}
    # A refresh drops the placeholder without a lose_friend event.
    assert store.merge_friends([{"id": 1, "name": "a"}]) == []
    store.merge_groups([{"id": 1, "name": "g"}])
    group = store.group(1)
    store.merge_group_detail(group, None, [{"id": 3, "name": "m"}, {"id": 4, "name": "n"}])
    changes = store.remove_group_members(group, [group.member(3)])
    assert changes == [("lose_group_member", {"member": changes[0][1]["member"], "group": group})]
    assert [m.id for m in group.members] == [4]
    assert store.add_placeholder_member(group, 8).placeholder and group.member(8).name == "昵称未知"


def test_presence_update():
    store = ContactStore()
    store.merge_friends([{"id": 1, "name": "a", "state": "offline", "client_type": "unknown"}])
    assert _names(store.update_friend_presence(1, "online", "pc")) == ["friend_property_change"] * 2
    assert store.update_friend_presence(2, "online", "pc") == []


def test_readers_see_snapshots_while_a_writer_merges():
    store = ContactStore()
    store.merge_groups([{"id": 1, "name": "g"}])
    group = store.group(1)
    store.merge_group_detail(group, None, [{"id": i, "name": str(i)} for i in range(200)])
    stop = threading.Event()
    errors = []

    def reader():
        while not stop.is_set():
            try:
                for g in store.groups():
                    g.to_json()
                store.counts()
            except Exception as e:  # pragma: no cover - the failure we look for
                errors.append(e)
                return

    t = threading.Thread(target=reader, name="test-reader")
    t.start()
    for n in range(100):
        store.merge_group_detail(group, None, [{"id": i, "name": f"{i}-{n}"} for i in range(n, 200 + n)])
        store.merge_groups([{"id": 1, "name": "g"}, {"id": 2 + n % 2, "name": "x"}])
    stop.set()
    t.join(5)
    assert errors == []
