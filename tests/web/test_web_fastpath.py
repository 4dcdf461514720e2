"""The WSGI fast path for cached reads answers exactly what Flask answers, or lets Flask answer.

Every answer is compared over HTTP with the same app served without the fast path (Flask
alone): status, headers (but Date) and bytes. Whether Flask saw the request tells which
side answered.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import urllib.parse
from typing import Any, Dict, Iterator, List, Tuple

import pytest
from webkit import StubClient, config, serve

from openqq_sync.web import create_app

TOKEN = "s3cret-token"
FRIENDS = [{"id": "1001", "uid": 11, "name": "钟辉", "markname": "老钟", "category": "好友"},
           {"id": "1002", "uid": 12, "name": "<b>&amp;", "category": "同事"}]
GROUPS = [{"id": "2001", "uid": 21, "name": "测试群"}]


class Stack:
    def __init__(self, fast: Any, flask: Any, client: StubClient, app: Any, seen: List[str]) -> None:
        self.fast, self.flask, self.client, self.app, self.seen = fast, flask, client, app, seen

    def get(self, server: Any, path: str, headers: Dict[str, str] = {}) -> Tuple[int, List[Tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        try:
            conn.request("GET", path, headers=headers)
            r = conn.getresponse()
            return r.status, [(k, v) for k, v in r.getheaders() if k.lower() != "date"], r.read()
        finally:
            conn.close()

    def both(self, path: str, headers: Dict[str, str] = {}) -> Tuple[Any, bool]:
        """The fast side's answer (asserted equal to Flask's) and whether Flask answered it."""
        before = len(self.seen)
        fast = self.get(self.fast, path, headers)
        by_flask = len(self.seen) > before
        assert fast == self.get(self.flask, path, headers)
        return fast, by_flask


@contextlib.contextmanager
def stack(token: Any = TOKEN, state: str = "running") -> Iterator[Stack]:
    client = StubClient(state=state)
    client.contacts.merge_friends(FRIENDS)
    client.contacts.merge_groups(GROUPS)
    app = create_app(client, config(token=token), _stop_delay=0.05)
    seen: List[str] = []
    app.before_request(lambda: seen.append("flask") and None)
    flask_only = app.wsgi_app.app
    try:
        with serve(app) as fast, serve(flask_only) as flask:
            yield Stack(fast, flask, client, app, seen)
    finally:
        app.extensions["openqq_sync"].delivery.stop(0.5)


def q(path: str, **params: str) -> str:
    return path + ("?" + urllib.parse.urlencode(params) if params else "")


AUTH = {"Authorization": f"Bearer {TOKEN}"}
READS = ["/openqq/get_friend_info", "/openqq/get_group_info", "/openqq/get_group_basic_info",
         "/openqq/get_discuss_info"]


@pytest.mark.parametrize("path", READS + [q("/openqq/search_friend", uid="11"),
                                          q("/openwx/search_friend", name="钟辉", category="好友"),
                                          q("/openqq/search_friend", uid="999")])
def test_a_cached_read_is_served_with_flasks_exact_answer(path):
    with stack() as s:
        first, by_flask = s.both(path, AUTH)
        assert by_flask and first[0] == 200                  # the first call builds the cache
        again, by_flask = s.both(path, AUTH)
        assert not by_flask and again == first               # then the fast path answers it
        sep = "&" if "?" in path else "?"
        tokened, by_flask = s.both(path + sep + urllib.parse.urlencode({"access_token": TOKEN}))
        assert not by_flask and tokened == first


def test_a_change_shows_on_the_next_call():
    with stack(token=None) as s:
        s.both("/openqq/get_friend_info")
        s.both(q("/openqq/search_friend", uid="11"))
        s.client.contacts.merge_friends([dict(FRIENDS[0], name="改名 <新>"), FRIENDS[1]])
        (status, _, body), by_flask = s.both("/openqq/get_friend_info")
        assert by_flask and "改名 <新>".encode() in body and "钟辉".encode() not in body
        (status, _, body), by_flask = s.both(q("/openqq/search_friend", uid="11"))
        assert by_flask and "改名 <新>".encode() in body
        _, by_flask = s.both("/openqq/get_friend_info")
        assert not by_flask


@pytest.mark.parametrize("path,headers", [
    (q("/openqq/get_friend_info", datatype="jsonp", callback="cb"), AUTH),       # JSONP
    (q("/openqq/get_friend_info", datatype="jsonp", callback="a b"), AUTH),      # bad callback
    (q("/openqq/get_friend_info", _="123"), AUTH),                               # unknown parameter
    (q("/openqq/search_friend", uid="11", callback="x"), AUTH),
    ("/openqq/search_friend?uid=11&uid=12", AUTH),                               # repeated key
    ("/openqq/search_friend?uid=%ff", AUTH),                                     # not UTF-8
    ("/openqq/get_friend_info/", AUTH),                                          # another path
    ("/openqq/get_friend_info", {"Authorization": "Bearer nope"}),               # wrong token
    ("/openqq/get_friend_info", {"X-Auth-Token": "nope"}),
    (q("/openqq/get_friend_info", access_token="nope"), {}),
    ("/openqq/get_friend_info", {}),                                             # no token
])
def test_anything_else_falls_through_to_flask(path, headers):
    with stack() as s:
        s.both("/openqq/get_friend_info", AUTH)
        s.both(q("/openqq/search_friend", uid="11"), AUTH)
        _, by_flask = s.both(path, headers)
        assert by_flask


def test_jsonp_of_a_cached_read_is_flasks():
    with stack(token=None) as s:
        s.both("/openqq/get_friend_info")
        (status, headers, body), by_flask = s.both(q("/openqq/get_friend_info", datatype="jsonp", callback="cb"))
        assert by_flask and body.startswith(b"cb([") and body.endswith(b")")


def test_not_running_and_other_methods_are_flasks():
    with stack(token=None) as s:
        s.both("/openqq/get_friend_info")
        s.client.state = "stop"
        (status, _, body), by_flask = s.both("/openqq/get_friend_info")
        assert by_flask and b'"code"' in body
        s.client.state = "running"
        _, by_flask = s.both("/openqq/get_friend_info")
        assert not by_flask
        conn = http.client.HTTPConnection("127.0.0.1", s.fast.port, timeout=5)
        before = len(s.seen)
        conn.request("HEAD", "/openqq/get_friend_info")
        conn.getresponse().read()
        conn.close()
        assert len(s.seen) > before


def _emit(s: Stack, n: int) -> None:
    for i in range(n):
        s.app.extensions["openqq_sync"].delivery.emit({"post_type": "event", "content": f"事件 {i}"}, drain=True)


def test_check_event_since_is_served_with_flasks_exact_answer():
    with stack() as s:
        _emit(s, 3)
        (status, headers, body), by_flask = s.both(q("/openqq/check_event", since="0", access_token=TOKEN))
        assert not by_flask and status == 200 and "事件 2".encode() in body
        (status, _, body), by_flask = s.both(q("/openqq/check_event", since="2"), AUTH)
        assert not by_flask and b"\"seq\":3" in body and b"\"seq\":2" not in body
        # Nothing newer: both wait check_event_timeout and answer [].
        (status, _, body), by_flask = s.both(q("/openqq/check_event", since="3"), AUTH)
        assert not by_flask and body == b"[]"


def test_plain_check_event_takes_items_as_flask_does():
    with stack(token=None) as s:
        answers = []
        for server, path in ((s.fast, "/openqq/check_event?since="), (s.flask, "/openqq/check_event")):
            _emit(s, 1)
            status, headers, body = s.get(server, path)
            items = json.loads(body)
            assert len(items) == 1
            answers.append((status, headers, [{k: v for k, v in i.items() if k != "seq"} for i in items]))
        assert answers[0] == answers[1] and len(s.seen) == 1      # only the second went through Flask


@pytest.mark.parametrize("path", ["/openqq/check_event?since=abc", "/openqq/check_event?since=%EF%BC%91",
                                  "/openqq/check_event?since=0&datatype=jsonp&callback=cb",
                                  "/openqq/check_event?since=0&x=1"])
def test_check_event_falls_through_for_anything_else(path):
    with stack(token=None) as s:
        _emit(s, 1)
        _, by_flask = s.both(path)
        assert by_flask


def test_a_remembered_query_is_still_checked_for_its_token_and_shape_every_time():
    with stack() as s:
        path = q("/openqq/search_friend", uid="11")
        first, by_flask = s.both(path, AUTH)
        again, by_flask = s.both(path, AUTH)
        assert not by_flask and again == first                # parsed once, answered fast
        _, by_flask = s.both(path, {"Authorization": "Bearer nope"})
        assert by_flask                                       # same query, wrong token: Flask's
        _, by_flask = s.both(path, {})
        assert by_flask
        bad = "/openqq/search_friend?uid=11&uid=12"
        for _ in range(2):                                     # a refused shape stays refused
            _, by_flask = s.both(bad, AUTH)
            assert by_flask
        again, by_flask = s.both(path, AUTH)
        assert not by_flask and again == first                # and callers' pops left it intact
