"""Model objects: JSON shapes (protocol doc 10), displaynames, update() and Message.reply."""

import json

import pytest

from openqq_sync.client.contacts import ContactStore
from openqq_sync.model import (Discuss, DiscussMember, Friend, Group, GroupMember, Message, User,
                               matches, same_value)


def test_to_json_keeps_every_stored_key_but_private_ones():
    f = Friend({"id": 11, "name": "张三", "markname": None, "flag": 0, "extra": "kept"}, _secret=1)
    assert f.to_json() == {"id": 11, "name": "张三", "markname": None, "flag": 0, "extra": "kept"}
    # Round-trips through UTF-8 JSON unchanged, emoji and XML specials included.
    g = Group(id=1, name="<群&组> 🐧")
    text = json.dumps(g.to_json(), ensure_ascii=False)
    assert "<群&组> 🐧" in text
    assert json.loads(text)["name"] == "<群&组> 🐧"


def test_group_member_array_only_once_touched():
    g = Group(id=1, name="g")
    assert "member" not in g.to_json()
    g._set_members([])
    assert g.to_json()["member"] == []
    g._set_members([GroupMember(id=5, name="m", _group=g)])
    assert g.to_json()["member"] == [{"id": 5, "name": "m"}]


def test_discuss_member_id_is_a_json_string():
    d = Discuss(id=7, name="讨论")
    d._set_members([DiscussMember(id=2372835507, name="x", uid=1)])
    assert d.to_json()["member"][0]["id"] == "2372835507"
    assert d.to_json()["id"] == 7


def test_displayname_rules():
    assert Friend(id=1, name="n", markname="备注").displayname == "备注"
    assert Friend(id=1, name="n", markname=None).displayname == "n"
    assert Group(id=1, name="n", markname="gm").displayname == "gm"
    store = ContactStore()
    store.merge_friends([{"id": 5, "name": "friend", "markname": "好友备注"}])
    store.merge_groups([{"id": 1, "name": "g"}])
    group = store.group(1)
    store.merge_group_detail(group, None, [
        {"id": 5, "name": "nick", "card": "card"},
        {"id": 6, "name": "nick6", "card": "card6"},
        {"id": 7, "name": "nick7", "card": None},
    ])
    assert group.member(5).displayname == "好友备注"
    assert group.member(6).displayname == "card6"
    assert group.member(7).displayname == "nick7"
    store.use_friend_markname = False
    assert group.member(5).displayname == "card"


def test_update_reports_changes_as_the_original():
    f = Friend(id=1, name="a", state="online", uid=123)
    changes = f.update({"id": "1", "name": "b", "state": None, "category": "朋友", "_x": 1})
    # "1" == 1 as strings; null replaces a value; a new key is a change from None.
    assert changes == [("name", "a", "b"), ("state", "online", None), ("category", None, "朋友")]
    assert f.uid == 123                       # keys absent from the record are kept
    assert f.update({"name": "b"}) == []


def test_same_value():
    assert same_value(1, "1") and same_value(None, None) and not same_value(None, "")
    assert not same_value(1, 2) and same_value({"a": 1}, {"a": 1})


def test_matches_never_raises_and_compares_as_strings():
    f = Friend(id=10, name="张三", category="朋友")
    assert matches(f, {"id": "10", "name": "张三"})
    assert not matches(f, {"id": "10", "name": "李四"})
    assert not matches(f, {"no_such_attribute": "x"})
    assert not matches(f, {"uid": "1"})       # known but unset: no match, no exception
    assert not matches(f, {"_data": "x"})
    assert matches(f, {"displayname": "张三"})
    assert matches(f, {})


def _recv_group_message():
    user = User(id=100, uid=9999, name="我")
    group = Group(id=1, name="测试群", uid=424242)
    sender = GroupMember(id=5, name="灰灰", uid=456789, _group=group)
    msg = Message("group_message", "recv", id=10856, group_id=1, sender_id=5, receiver_id=100,
                  time=1442542632, content="测试一下 <&>", sender=sender, receiver=user, group=group,
                  raw_content=[{"type": "txt", "content": "测试一下"}])
    return msg, user, group, sender


def test_message_to_json_recv_group():
    msg, *_ = _recv_group_message()
    assert msg.to_json() == {
        "type": "group_message", "class": "recv", "id": 10856, "group_id": 1, "sender_id": 5,
        "receiver_id": 100, "time": 1442542632, "content": "测试一下 <&>", "sender": "灰灰",
        "sender_uid": 456789, "receiver": "我", "receiver_uid": 9999, "group": "测试群",
        "group_uid": 424242,
    }


def test_message_to_json_discuss_has_no_discuss_uid():
    d = Discuss(id=3, name="讨论组")
    m = DiscussMember(id=4, name="成员", uid=77, _discuss=d)
    msg = Message("discuss_message", "recv", id=1, discuss_id=3, sender_id=4, content="hi",
                  sender=m, discuss=d)
    out = msg.to_json()
    assert out["discuss"] == "讨论组" and "discuss_uid" not in out and out["sender_uid"] == 77


def test_message_send_fields_and_status():
    user = User(id=100, uid=9999, name="我")
    friend = Friend(id=11, name="f", uid=None)
    msg = Message("friend_message", "send", id=5, sender_id=100, receiver_id=11, content="x",
                  sender=user, receiver=friend)
    msg.set(**{"from": "api"}, ttl=3, source="local")
    assert msg.code is None and msg.from_ == "api"
    msg.set_status(0, "发送成功", "发送正常")
    out = msg.to_json()
    assert out["code"] == 0 and out["msg"] == "发送成功" and out["from"] == "api"
    assert out["receiver_uid"] is None and out["sender"] == "我"
    assert msg.ok


class _FakeClient:
    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        if name.startswith("send_"):
            return lambda target, text: self.calls.append((name, target, text)) or "handle"
        raise AttributeError(name)


@pytest.mark.parametrize("kind, cls, expect", [
    ("friend_message", "recv", "sender"), ("friend_message", "send", "receiver"),
    ("sess_message", "recv", "sender"), ("sess_message", "send", "receiver"),
    ("group_message", "recv", "group"), ("discuss_message", "send", "discuss"),
])
def test_reply_targets(kind, cls, expect):
    objs = {"sender": Friend(id=1, name="s"), "receiver": Friend(id=2, name="r"),
            "group": Group(id=3, name="g"), "discuss": Discuss(id=4, name="d")}
    msg = Message(kind, cls, id=1, content="c", **objs)
    client = _FakeClient()
    msg._client = client
    assert msg.reply("回复") == "handle"
    assert client.calls == [("send_" + kind, objs[expect], "回复")]


def test_reply_needs_a_client():
    msg = Message("friend_message", "recv", id=1, sender=Friend(id=1, name="s"))
    with pytest.raises(RuntimeError):
        msg.reply("x")
    with pytest.raises(ValueError):
        Message("nope", "recv")
