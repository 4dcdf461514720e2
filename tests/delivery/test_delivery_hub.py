"""Delivery hub: which signals become reports, where they go, numbering, and receivers that
never raise into the emitting thread. Signals are sent by the test with real model objects."""

from __future__ import annotations

import io
import json
import os
import threading
import time

from openqq_sync import signals
from openqq_sync.delivery import Delivery
from openqq_sync.model import Friend, Group, GroupMember, Message
from stacks import Receiver, StubClient, config, eventually, json_answer


def _friend():
    return Friend({"id": 11, "uid": 1001, "name": "钟辉", "markname": None, "category": "朋友"})


def _message(cls="recv"):
    me = Friend({"id": 1, "uid": 10, "name": "小灰"})
    f = _friend()
    if cls == "recv":
        return Message("friend_message", "recv", id=5, sender=f, receiver=me, sender_id=11, receiver_id=1,
                       time=1700000000, content="你好")
    msg = Message("friend_message", "send", id=6, sender=me, receiver=f, sender_id=1, receiver_id=11,
                  content="hi", time=1700000001)
    msg.set_status(0, "发送成功", "发送正常")
    return msg


def _hub(client, **kw):
    out = io.StringIO()
    hub = Delivery(client, config(**kw), stdout=out).start()
    return hub, out


def test_messages_are_numbered_buffered_and_printed():
    client = StubClient(state="running")
    hub, out = _hub(client, post_stdout=True)
    try:
        signals.receive_message.send(client, msg=_message("recv"))
        signals.send_message.send(client, msg=_message("send"))
        items = hub.buffer.take(0)
        assert [(i["post_type"], i["seq"]) for i in items] == [("receive_message", 1), ("send_message", 2)]
        assert items[0]["sender"] == "钟辉" and items[0]["sender_uid"] == 1001 and items[0]["content"] == "你好"
        assert items[1]["code"] == 0 and items[1]["receiver_uid"] == 1001
        lines = eventually(lambda: len(out.getvalue().splitlines()) == 2 and out.getvalue().splitlines())
        assert [json.loads(line)["seq"] for line in lines] == [1, 2]
        assert "钟辉" in lines[0]                 # raw UTF-8
        # Another client's signals are not ours.
        signals.receive_message.send(StubClient(), msg=_message("recv"))
        assert hub.buffer.take(0) == []
    finally:
        hub.stop(0)


def test_event_selection_follows_post_event_and_the_list():
    client = StubClient()
    group = Group({"id": 21, "uid": 2001, "name": "群"})
    member = GroupMember({"id": 31, "uid": 3001, "name": "成员"})
    hub, _ = _hub(client, post_event_list=["login", "new_group_member", "friend_property_change"])
    try:
        signals.login.send(client, is_scan=1)
        signals.state_change.send(client, old="init", new="loading")          # not listed
        signals.new_group_member.send(client, member=member, group=group)
        signals.friend_property_change.send(client, obj=_friend(), property="markname", old=None, new="老钟")
        signals.new_friend.send(client, friend=_friend())                     # not listed
        retained = hub.buffer.since(0, 0)
        assert [(i.get("event"), i["params"]) for i in retained] == [
            ("login", [1]),
            ("new_group_member", [member.to_json(), group.to_json()]),
            ("friend_property_change", [_friend().to_json(), "markname", None, "老钟"]),
        ]
        # The original kept login out of check_event; contact events are in.
        assert [i["event"] for i in hub.buffer.take(0)] == ["new_group_member", "friend_property_change"]
    finally:
        hub.stop(0)
    off, _ = _hub(client, post_event=False)
    try:
        signals.login.send(client, is_scan=0)
        signals.receive_message.send(client, msg=_message())
        assert [i["post_type"] for i in off.buffer.since(0, 0)] == ["receive_message"]
    finally:
        off.stop(0)


def test_input_qrcode_params_are_path_and_mime_base64():
    client = StubClient()
    hub, _ = _hub(client)
    try:
        signals.input_qrcode.send(client, path="/tmp/q.png", data=b"\x89PNG" + bytes(100))
        item = hub.buffer.since(0, 0)[0]
        path, data = item["params"]
        assert path == "/tmp/q.png" and data.endswith("\n") and len(data.splitlines()[0]) == 76
    finally:
        hub.stop(0)


def test_a_broken_object_is_logged_not_raised_into_the_emitter(caplog):
    client = StubClient()

    class Broken:
        def to_json(self):
            raise RuntimeError("boom")

    hub, _ = _hub(client)
    try:
        signals.receive_message.send(client, msg=Broken())        # must not raise
        signals.new_friend.send(client, friend=Broken())
        assert "reporting a receive_message failed" in caplog.text
        assert hub.buffer.since(0, 0) == []
    finally:
        hub.stop(0)


def test_post_api_answers_act_only_on_received_messages():
    client = StubClient(state="running")
    replies = []

    class Recv:
        def __init__(self, cls):
            self.msg = _message(cls)

        def to_json(self):
            return self.msg.to_json()

        def reply(self, text):
            replies.append((self.msg.class_, text))

    with Receiver(lambda req: json_answer({"reply": "好的"})) as recv:
        hub, _ = _hub(client, post_api=recv.url)
        try:
            signals.send_message.send(client, msg=Recv("send"))      # its answer must be ignored
            signals.receive_message.send(client, msg=Recv("recv"))
            recv.wait_for(lambda r: len(r) == 2)
            eventually(lambda: replies)
            assert [b["post_type"] for b in recv.bodies()] == ["send_message", "receive_message"]
        finally:
            hub.stop(1)
    assert replies == [("recv", "好的")]


def test_a_stdout_reader_that_never_reads_does_not_block_the_emitting_thread():
    """post_stdout into a pipe nobody reads (code review A2): emitting returns at once, the
    lines wait on the stdout thread; when the pipe breaks, that thread ends and says so."""
    client = StubClient(state="running")
    read_end, write_end = os.pipe()
    out = os.fdopen(write_end, "w", encoding="utf-8")
    hub = Delivery(client, config(post_stdout=True), stdout=out).start()
    done = threading.Event()

    def protocol_thread():
        for n in range(200):          # ~200 KB: far more than a pipe holds
            hub.emit({"post_type": "event", "event": "x", "params": ["好" * 300, n]}, drain=False)
        done.set()

    emitter = threading.Thread(target=protocol_thread, name="test-emitter")
    started = time.monotonic()
    emitter.start()
    try:
        assert done.wait(5), "emit blocked on a stalled stdout reader"
        assert time.monotonic() - started < 2
        # A second emitter (the sender's send_message report) is not held up either.
        assert hub.emit({"post_type": "event", "event": "y", "params": []}, drain=False) == 201
        first = os.read(read_end, 4096).decode("utf-8", "replace")
        assert first.startswith('{"post_type":"event","event":"x"')
    finally:
        emitter.join(5)
        os.close(read_end)            # the pipe breaks: the blocked write fails, the thread ends
        hub.stop(2)
        try:
            out.close()
        except BrokenPipeError:
            pass
