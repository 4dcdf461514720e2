"""The ContactStore's id/uid index (``find_*``, which the module's lookup functions call)
answers exactly what the store's own search answers first; searches and member lookups
share one matcher (``model.matches``)."""

import itertools
import threading
from types import SimpleNamespace

from openqq_sync.client import contacts as _lookup
from openqq_sync.client.contacts import ContactStore


def _client():
    store = ContactStore()
    store.merge_friends([
        {"id": 1, "uid": 1001, "name": "甲", "markname": "m"},
        {"id": 2, "uid": 1002, "name": "乙"},
        {"id": 3, "uid": None, "name": "丙"},        # no QQ number (ext not matched)
        {"id": 4, "uid": 1002, "name": "丁"},        # a duplicate uid: the first one wins
        {"id": 5, "uid": [1005], "name": "戊"},      # garbled: matches nothing
        {"id": 6, "uid": "1006", "name": "己"},      # text, found by the same text
    ])
    store.merge_groups([{"id": 11, "uid": 2011, "name": "群一", "code": 1},
                        {"id": 12, "uid": 2012, "name": "群二", "code": 2}])
    store.merge_discusses([{"id": 21, "name": "讨论"}])
    return SimpleNamespace(contacts=store)


def _expected(client, kind, criteria):
    c = _lookup.clean(criteria)
    if not c:
        return None
    search = {"friends": client.contacts.search_friends, "groups": client.contacts.search_groups,
              "discusses": client.contacts.search_discusses}[kind]
    return _lookup.first(search(**c))


FIND = {"friends": _lookup.find_friend, "groups": _lookup.find_group, "discusses": _lookup.find_discuss}
VALUES = {"id": [None, "", 1, "1", 2, "4", 11, "12", 21, 99, "01"],
          "uid": [None, 1001, "1002", 1005, "1006", "[1005]", 2011, 2012, "x"],
          "name": [None, "甲", "丁", "群二", "讨论", "无"],
          "member": [None, "1"]}


def _assert_all_agree(client):
    for kind, find in FIND.items():
        for combo in itertools.product(*VALUES.values()):
            criteria = dict(zip(VALUES, combo))
            assert find(client, **criteria) is _expected(client, kind, criteria), (kind, criteria)


def test_index_agrees_with_the_stores_search():
    _assert_all_agree(_client())


def test_index_follows_every_change_of_the_store():
    client = _client()
    store = client.contacts
    assert _lookup.find_friend(client, uid="1002").id == 2
    store.merge_friends([{"id": 4, "uid": 1002, "name": "丁"}, {"id": 7, "uid": 1001, "name": "庚"}])
    assert _lookup.find_friend(client, uid="1002").id == 4      # 2 was removed
    assert _lookup.find_friend(client, id=1) is None
    assert _lookup.find_friend(client, uid=1001).id == 7
    _assert_all_agree(client)
    store.merge_groups([{"id": 13, "uid": 2011, "name": "群三", "code": 3}])
    assert _lookup.find_group(client, uid=2011).id == 13
    store.clear()
    assert _lookup.find_friend(client, uid=1001) is None and _lookup.find_group(client, id=13) is None


def test_a_search_by_id_or_uid_does_not_scan(monkeypatch):
    client = _client()

    def scan(**criteria):
        raise AssertionError(f"scanned for {criteria}")

    monkeypatch.setattr(client.contacts, "search_friends", scan)
    monkeypatch.setattr(client.contacts, "search_groups", scan)
    assert _lookup.find_friend(client, uid="1001", name="甲").id == 1
    assert _lookup.find_group(client, id="12").id == 12


def test_the_stores_find_takes_uncleaned_criteria_as_its_search_does():
    store = _client().contacts
    pairs = [(store.find_friend, store.search_friends), (store.find_group, store.search_groups),
             (store.find_discuss, store.search_discusses)]
    for find, search in pairs:
        for criteria in ({"id": 1}, {"id": 12}, {"uid": 1002}, {"uid": 1002, "name": "丁"},
                         {"id": 21, "member": 1}, {"uid": 1.0}, {"id": True}, {"uid": None},
                         {"name": "甲"}, {}):
            assert find(**criteria) is next(iter(search(**criteria)), None), (find, criteria)


def test_lookups_during_writes_end_on_the_last_state():
    client = _client()
    store = client.contacts
    lists = [[{"id": 1, "uid": 1001}], [{"id": 2, "uid": 1001}, {"id": 3, "uid": 1003}]]
    stop, wrong = threading.Event(), []

    def lookups():
        while not stop.is_set():
            found = _lookup.find_friend(client, uid=1001)
            if found is not None and found.id not in (1, 2, 7):
                wrong.append(found.id)

    readers = [threading.Thread(target=lookups) for _ in range(2)]
    for t in readers:
        t.start()
    for i in range(300):
        store.merge_friends(lists[i % 2])
    store.merge_friends([{"id": 7, "uid": 1001}])
    stop.set()
    for t in readers:
        t.join()
    assert not wrong
    assert _lookup.find_friend(client, uid=1001).id == 7 and _lookup.find_friend(client, id=3) is None


def test_searches_and_member_lookups_share_one_matcher():
    """A true flag is "1" (the original's Perl truth), a whole float its integer text,
    and a null or missing attribute matches nothing: the same for ``search_*`` and for
    the member lookups of sends, kicks and post_api replies."""
    store = ContactStore()
    store.merge_groups([{"id": 11, "uid": 2011, "name": "群一", "code": 1}])
    group = store.group(11)
    store.merge_group_detail(group, None, [
        {"id": 1, "name": "甲", "uid": 101, "is_vip": True, "last_speak_time": 1.0},
        {"id": 2, "name": "乙", "uid": 102, "is_vip": False, "last_speak_time": None}])
    client = SimpleNamespace(contacts=store)
    members = _lookup.group_members(client, store.group(11))
    for criteria, want in [({"is_vip": "1"}, 1), ({"is_vip": True}, 1), ({"is_vip": "True"}, None),
                           ({"is_vip": "0"}, 2), ({"last_speak_time": "1"}, 1),
                           ({"last_speak_time": "1.0"}, None), ({"nothing": "x"}, None),
                           ({"uid": 102, "name": "乙"}, 2), ({"uid": 102, "name": "甲"}, None)]:
        found = _lookup.find_member(members, **criteria)
        searched = store.search_group_members(store.group(11), **_lookup.clean(criteria))
        assert (found.id if found else None) == want, criteria
        assert (searched[0].id if searched else None) == want, criteria
    assert _lookup.find_member(members) is None and _lookup.find_member(members, name="") is None
