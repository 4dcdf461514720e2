"""NoneBot2 with nonebot-adapter-onebot, a OneBot v11 client nobody here wrote, against the
sandbox's forward WebSocket: the event classes it parses, its API calls, its sends."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading

import pytest

from .conftest import Control, Inbox, start_sandbox

pytest.importorskip("nonebot.adapters.onebot.v11")

BOT = os.path.join(os.path.dirname(__file__), "nonebot_bot.py")
TOKEN = "s3cret token"


class NoneBot:
    def __init__(self, ws_url: str) -> None:
        self.inbox = Inbox()
        self.ids = itertools.count(1)
        self.proc = subprocess.Popen([sys.executable, BOT, ws_url, TOKEN], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, encoding="utf-8")
        self.reader = threading.Thread(target=self._read, name="test-nonebot-reader", daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:  # type: ignore[union-attr]
            if line.startswith("{"):
                self.inbox.add(json.loads(line))

    def call(self, action: str, cq: bool = False, **params):
        n = next(self.ids)
        self.proc.stdin.write(json.dumps({"id": n, "action": action, "params": params, "cq": cq}) + "\n")  # type: ignore
        self.proc.stdin.flush()  # type: ignore[union-attr]
        got = self.inbox.wait(lambda i: i.get("id") == n)
        return got

    def event(self, cls: str, **fields):
        return self.inbox.wait(lambda i: i.get("event") == cls and all(
            i["data"].get(k) == v for k, v in fields.items()))["data"]

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdin.close()  # type: ignore[union-attr]
        self.reader.join(5)
        self.proc.stdout.close()  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def world():
    srv = start_sandbox(onebot_port=0, onebot_token=TOKEN)
    bot = NoneBot("ws://127.0.0.1:%d/" % srv.onebot.port)
    try:
        bot.inbox.wait(lambda i: "connected" in i, timeout=20)
        bot.event("LifecycleMetaEvent", sub_type="connect", self_id=srv.world.data.account.qq)
        yield srv, bot, Control(srv.url)
    finally:
        bot.close()
        srv.stop()


def test_messages_parse_as_their_event_classes(world):
    srv, bot, ctl = world
    d = srv.world.data
    friend = next(iter(d.friends.values()))
    grp = d.groups[320379794]
    ctl.post("/sandbox/message", type="friend_message", sender_uid=friend.qq, content="你好 [微笑] & [x]")
    ev = bot.event("PrivateMessageEvent", user_id=friend.qq)
    assert ev["sub_type"] == "friend"
    assert ev["message"] == [{"type": "text", "data": {"text": "你好 "}}, {"type": "face", "data": {"id": "14"}},
                             {"type": "text", "data": {"text": " & [x]"}}]
    assert ev["raw_message"] == "你好 [CQ:face,id=14] &amp; &#91;x&#93;"
    assert ev["sender"]["nickname"] == friend.nick

    sender = 215804065
    ctl.post("/sandbox/message", type="group_message", sender_uid=sender, group_uid=grp.number,
             content=[{"type": "at", "data": {"qq": d.account.qq}}, {"type": "text", "data": {"text": " 看这里"}},
                      {"type": "reply", "data": {"id": "10001"}}, {"type": "image", "data": {"file": "a.jpg"}}])
    ev = bot.event("GroupMessageEvent", group_id=grp.number)
    assert ev["user_id"] == sender and ev["sender"]["role"] == "member"
    assert [s["type"] for s in ev["original_message"]] == ["at", "text", "reply", "image"]
    assert ev["to_me"] is True  # nonebot read the at segment as addressing the bot

    member = next(q for q in grp.members if q not in d.friends and q != d.account.qq)
    ctl.post("/sandbox/message", type="sess_message", sender_uid=member, group_uid=grp.number, content="临时会话")
    ev = bot.event("PrivateMessageEvent", user_id=member)
    assert ev["sub_type"] == "group"


def test_discussion_traffic_stays_smartqq_only(world):
    srv, bot, ctl = world
    dc = next(iter(srv.world.data.discusses.values()))
    sender = next(q for q in dc.members if q != srv.world.data.account.qq)
    ctl.post("/sandbox/message", type="discuss_message", sender_uid=sender, discuss_key=dc.key, content="讨论组")
    friend = next(iter(srv.world.data.friends))
    ctl.post("/sandbox/message", type="friend_message", sender_uid=friend, content="after the discussion")
    bot.event("PrivateMessageEvent", raw_message="after the discussion")
    assert not bot.inbox.seen(lambda i: "讨论组" in json.dumps(i, ensure_ascii=False))


def test_api_calls_return_the_world(world):
    srv, bot, ctl = world
    snap = ctl.get("/sandbox/world")
    info = bot.call("get_login_info")["result"]
    assert info == {"user_id": snap["account"]["uid"], "nickname": snap["account"]["name"]}
    friends = bot.call("get_friend_list")["result"]
    assert {f["user_id"]: f["nickname"] for f in friends} == {f["uid"]: f["name"] for f in snap["friends"]}
    groups = bot.call("get_group_list")["result"]
    assert {g["group_id"]: g["group_name"] for g in groups} == {g["uid"]: g["name"] for g in snap["groups"]}
    g = snap["groups"][1]
    members = bot.call("get_group_member_list", group_id=g["uid"])["result"]
    assert {m["user_id"]: (m["nickname"], m["role"]) for m in members} == \
        {m["uid"]: (m["name"], m["role"]) for m in g["members"]}
    one = bot.call("get_group_member_info", group_id=g["uid"], user_id=g["owner_uid"])["result"]
    assert one["role"] == "owner"
    assert bot.call("get_status")["result"]["online"] is True
    missing = bot.call("get_group_info", group_id=1)
    assert missing["ok"] is False and missing["error"] == "ActionFailed"
    unknown = bot.call("no_such_action")
    assert unknown["ok"] is False and "1404" in unknown["info"]


def test_sends_arrive_in_the_sent_log(world):
    srv, bot, ctl = world
    friend = next(iter(srv.world.data.friends))
    r = bot.call("send_private_msg", cq=True, user_id=friend, message="hi [CQ:face,id=14] &#91;ok&#93;")
    assert r["ok"], r
    sent = ctl.get("/sandbox/sent")
    rec = next(s for s in sent if s["msg_id"] == r["result"]["message_id"])
    assert (rec["type"], rec["target"], rec["content"], rec["via"]) == ("friend_message", friend, "hi [微笑] [ok]",
                                                                        "onebot")
    r = bot.call("send_group_msg", group_id=749757304, message="群里好 [CQ:face,id=999]")
    assert r["ok"], r
    rec = next(s for s in ctl.get("/sandbox/sent") if s["msg_id"] == r["result"]["message_id"])
    assert (rec["type"], rec["target"], rec["content"]) == ("group_message", 749757304, "群里好 [表情]")
    got = bot.call("get_msg", message_id=r["result"]["message_id"])["result"]
    assert got["message_type"] == "group" and got["group_id"] == 749757304


def test_admin_actions_change_the_world_and_notify(world):
    srv, bot, ctl = world
    gid = 451089899  # the account owns it
    members = [m for m in ctl.get("/sandbox/world")["groups"] if m["uid"] == gid][0]["members"]
    target = next(m["uid"] for m in members if m["role"] == "member")
    assert bot.call("set_group_ban", group_id=gid, user_id=target, duration=600)["ok"]
    ev = bot.event("GroupBanNoticeEvent", group_id=gid, user_id=target)
    assert (ev["sub_type"], ev["duration"], ev["operator_id"]) == ("ban", 600, srv.world.data.account.qq)
    assert bot.call("set_group_card", group_id=gid, user_id=target, card="新名片")["ok"]
    ev = bot.event("NoticeEvent", notice_type="group_card", user_id=target)  # NapCat's extension
    assert ev["card_new"] == "新名片"
    assert bot.call("set_group_kick", group_id=gid, user_id=target)["ok"]
    ev = bot.event("GroupDecreaseNoticeEvent", group_id=gid, user_id=target)
    assert ev["sub_type"] == "kick"
    after = [g for g in ctl.get("/sandbox/world")["groups"] if g["uid"] == gid][0]["members"]
    assert target not in [m["uid"] for m in after]
    no_right = bot.call("set_group_kick", group_id=243423518, user_id=70851519)
    assert no_right["ok"] is False


def test_control_api_changes_notify(world):
    srv, bot, ctl = world
    gid = 320379794
    added = ctl.post("/sandbox/add_group_member", group_uid=gid, name="新人", uid=123456789)
    ev = bot.event("GroupIncreaseNoticeEvent", group_id=gid, user_id=added["uid"])
    assert ev["sub_type"] == "approve"
    ctl.post("/sandbox/rename_group_member", group_uid=gid, uid=added["uid"], role="admin")
    assert bot.event("GroupAdminNoticeEvent", group_id=gid, user_id=added["uid"])["sub_type"] == "set"
    ctl.post("/sandbox/remove_group_member", group_uid=gid, uid=added["uid"])
    assert bot.event("GroupDecreaseNoticeEvent", group_id=gid, user_id=added["uid"])["sub_type"] == "leave"
    f = ctl.post("/sandbox/add_friend", name="新朋友")
    bot.event("FriendAddNoticeEvent", user_id=f["uid"])
    m = ctl.post("/sandbox/message", type="group_message", sender_uid=215804065, group_uid=gid, content="撤回我")
    ctl.post("/sandbox/onebot/recall", message_id=m["msg_id"])
    ev = bot.event("GroupRecallNoticeEvent", message_id=m["msg_id"])
    assert ev["operator_id"] == 215804065
    m = ctl.post("/sandbox/message", type="friend_message", sender_uid=f["uid"], content="也撤回")
    ctl.post("/sandbox/onebot/recall", message_id=m["msg_id"])
    bot.event("FriendRecallNoticeEvent", message_id=m["msg_id"], user_id=f["uid"])
    bot.event("HeartbeatMetaEvent")


def test_kicked_offline_while_the_socket_stays(world):
    srv, bot, ctl = world
    ctl.post("/sandbox/onebot/offline")
    bot.event("NoticeEvent", notice_type="bot_offline")
    assert bot.call("get_status")["result"]["online"] is False
    bot.event("HeartbeatMetaEvent", status={"online": False, "good": True})
    assert bot.call("send_private_msg", user_id=next(iter(srv.world.data.friends)), message="x")["ok"] is False
    ctl.post("/sandbox/onebot/online")
    assert bot.call("get_status")["result"]["online"] is True
