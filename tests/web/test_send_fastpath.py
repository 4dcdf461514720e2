"""A plain GET of a send route is answered without Flask, exactly as Flask answers it, and the
message is sent once whichever side answers.

Every answer is compared over HTTP with the same app served by Flask alone (status, headers
but Date, bytes); whether Flask saw the request tells which side answered.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import urllib.parse
from typing import Any, Dict, Iterator, List, Tuple

import pytest
from webkit import StubClient, config, serve

from openqq_sync.client.sender import SendHandle
from openqq_sync.model import Message
from openqq_sync.web import create_app

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class SendingClient(StubClient):
    """Sends complete at once with ``outcome`` (a status triple), never ("hang"), or raise."""

    def __init__(self) -> None:
        super().__init__(state="running")
        self.outcome: Any = (0, "发送成功", "发送正常")
        self.sent_ids: List[int] = []

    def _send(self, kind: str, target: Any, content: str, from_: str) -> SendHandle:
        if self.outcome == "raise":
            raise KeyError("a bug")
        if content == "":
            raise ValueError("message content is empty")
        self.sent.append((kind, target.id, content))
        handle = SendHandle(Message(kind, "send", id=4200 + (len(self.sent) - 1) // 2))  # a pair: one id
        if self.outcome != "hang":
            handle.msg.set_status(*self.outcome)
            handle._complete()
        return handle

    def send_friend_message(self, friend: Any, content: str, from_: str = "code") -> SendHandle:
        return self._send("friend_message", friend, content, from_)

    def send_group_message(self, group: Any, content: str, from_: str = "code") -> SendHandle:
        return self._send("group_message", group, content, from_)


class Stack:
    def __init__(self, fast: Any, flask: Any, client: SendingClient, seen: List[str]) -> None:
        self.fast, self.flask, self.client, self.seen = fast, flask, client, seen

    @staticmethod
    def get(server: Any, path: str, headers: Dict[str, str], method: str = "GET") -> Tuple[Any, ...]:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            conn.request(method, path, headers=headers)
            r = conn.getresponse()
            return r.status, [(k, v) for k, v in r.getheaders() if k.lower() != "date"], r.read()
        finally:
            conn.close()

    def both(self, path: str, headers: Dict[str, str] = AUTH, method: str = "GET") -> Tuple[Any, bool]:
        """The fast side's answer (asserted equal to Flask's), whether Flask answered it; each
        side sent at most once."""
        seen, sent = len(self.seen), len(self.client.sent)
        fast = self.get(self.fast, path, headers, method)
        by_flask = len(self.seen) > seen
        assert len(self.client.sent) - sent <= 1
        flask = self.get(self.flask, path, headers, method)
        assert len(self.client.sent) - sent in (0, 2)
        if len(self.client.sent) - sent == 2:
            assert self.client.sent[-1] == self.client.sent[-2]
        assert fast == flask
        return fast, by_flask


@contextlib.contextmanager
def stack(**cfg: Any) -> Iterator[Stack]:
    client = SendingClient()
    client.contacts.merge_friends([{"id": "1001", "uid": 11, "name": "钟辉"}])
    client.contacts.merge_groups([{"id": "2001", "uid": 21, "name": "测试群"}])
    app = create_app(client, config(**{"token": TOKEN, **cfg}), _stop_delay=0.05)
    seen: List[str] = []
    app.before_request(lambda: seen.append("flask") and None)
    try:
        with serve(app) as fast, serve(app.wsgi_app.app) as flask:
            yield Stack(fast, flask, client, seen)
    finally:
        app.extensions["openqq_sync"].delivery.stop(0.5)


def q(path: str, **params: str) -> str:
    return path + "?" + urllib.parse.urlencode(params)


@pytest.mark.parametrize("path", [
    q("/openqq/send_friend_message", uid="11", content="你好 [微笑] <b>&"),
    q("/openqq/send_friend_message", id="1001", content="x", name="钟辉"),
    q("/openqq/send_group_message", uid="21", content="群里好"),
    q("/openqq/send_friend_message", uid="11", content="x", **{"async": "1"}),
    q("/openqq/send_friend_message", uid="99", content="x"),              # no such friend
    q("/openqq/send_group_message", uid="11", content="x"),               # no such group
    q("/openqq/send_friend_message", uid="11", content=""),               # empty content
    q("/openqq/send_friend_message", uid="11"),
    q("/openqq/send_discuss_message", id="9", content="x"),                # no such discussion
    q("/openqq/send_sess_message", uid="5", content="x"),                 # neither group nor discussion
    q("/openqq/send_friend_message", uid="11", content="x", _="1", client="y"),
])
def test_sends_are_answered_without_flask_as_flask_answers(path):
    with stack() as s:
        (status, headers, body), by_flask = s.both(path)
        assert not by_flask and status == 200 and b'"code"' in body
        (_, _, again), by_flask = s.both(path + "&" + urllib.parse.urlencode({"access_token": TOKEN}), {})
        assert not by_flask


def test_a_failed_send_and_a_timeout_are_answered_as_flask_answers():
    with stack(send_timeout=0.05) as s:
        s.client.outcome = (-3, "发送失败", "发送异常")
        (_, _, body), by_flask = s.both(q("/openqq/send_friend_message", uid="11", content="x"))
        assert not by_flask and b'"code":-3' in body
        s.client.outcome = "hang"
        (_, _, body), by_flask = s.both(q("/openqq/send_friend_message", uid="11", content="x"))
        assert not by_flask and b'"code":-7' in body and len(s.client.sent) == 4


def test_an_unexpected_error_is_answered_and_logged_as_flask_does(caplog):
    with stack() as s:
        s.client.outcome = "raise"
        with caplog.at_level(logging.ERROR, logger="openqq_sync.web.errors"):
            (status, _, body), by_flask = s.both(q("/openqq/send_group_message", uid="21", content="x"))
        assert not by_flask and status == 500 and b'"internal error"' in body
        assert [r.getMessage() for r in caplog.records] == ["API request failed"] * 2


@pytest.mark.parametrize("path,headers,method", [
    (q("/openqq/send_friend_message", uid="11", content="x", datatype="jsonp", callback="cb"), AUTH, "GET"),
    (q("/openqq/send_friend_message", uid="11", content="x", callback="cb"), AUTH, "GET"),
    ("/openqq/send_friend_message?uid=11&content=a&content=b", AUTH, "GET"),   # repeated key
    ("/openqq/send_friend_message?uid=11&content=%ff", AUTH, "GET"),           # not UTF-8
    (q("/openqq/send_friend_message", uid="11", content="x"), {}, "GET"),      # no token
    (q("/openqq/send_friend_message", uid="11", content="x"), {"X-Auth-Token": "nope"}, "GET"),
    (q("/openqq/send_friend_message", uid="11", content="x"), AUTH, "POST"),
    (q("/openqq/send_friend_message/", uid="11", content="x"), AUTH, "GET"),  # another path
])
def test_anything_else_is_flasks(path, headers, method):
    with stack() as s:
        _, by_flask = s.both(path, headers, method)
        assert by_flask


def test_not_running_is_flasks():
    with stack() as s:
        s.client.state = "updating"
        (_, _, body), by_flask = s.both(q("/openqq/send_friend_message", uid="11", content="x"))
        assert by_flask and b'"code":503' in body and s.client.sent == []
