"""poll2: every answer shape and retcode path of 7.2-7.4 (responses)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest
import requests

from openqq_sync.backends.smartqq.login import Credentials
from openqq_sync.backends.smartqq.poll import PollResult, parse_item, poll
from openqq_sync.backends.smartqq.transport import Transport
from openqq_sync.config import Config
from openqq_sync.errors import (
    LoginExpired,
    NeedRelink,
    PollTimeout,
    ProtocolError,
    TransportError,
)

URL = "http://d1.web2.qq.com/channel/poll2"
CREDS = Credentials(uid=1, ptwebqq="PTW", vfwebqq="VF", psessionid="PS")
FONT = ["font", {"size": 10, "color": "000000", "style": [0, 0, 0], "name": "微软雅黑"}]


def answer(rsps, body=None, **kw):
    if body is not None:
        kw["json"] = body
    rsps.post(URL, **kw)


def test_request_shape(rsps, t):
    answer(rsps, {"retcode": 0, "result": []})
    assert poll(t, CREDS, timeout=5) == PollResult(0, [], None)
    req = rsps.calls[0].request
    assert json.loads(parse_qs(req.body)["r"][0]) == {"ptwebqq": "PTW", "clientid": 53999199,
                                                      "psessionid": "PS", "key": ""}
    assert req.headers["Referer"] == "http://d1.web2.qq.com/proxy.html?v=20151105001&callback=1&id=2"


@pytest.mark.parametrize("body", [{"errmsg": "error!!!", "retcode": 0}, {}, {"retcode": 0, "result": None},
                                  {"retcode": None}])
def test_nothing_new(rsps, t, body):
    answer(rsps, body)
    assert poll(t, CREDS) == PollResult(0, [], None)


def test_retcode_116_gives_new_ptwebqq_and_cookie(rsps, t):
    answer(rsps, {"retcode": 116, "p": "NEWP"})
    assert poll(t, CREDS) == PollResult(116, [], "NEWP")
    assert {(c.name, c.domain, c.value) for c in t.cookies} == {("ptwebqq", ".qq.com", "NEWP")}


@pytest.mark.parametrize("code, exc", [(100, LoginExpired), (103, LoginExpired), (100000, LoginExpired),
                                       (120, NeedRelink), (121, NeedRelink)])
def test_session_retcodes_raise(rsps, t, code, exc):
    answer(rsps, {"retcode": code})
    with pytest.raises(exc) as err:
        poll(t, CREDS)
    assert err.value.retcode == code


@pytest.mark.parametrize("code", [102, 109, 110, 1202, 100012])
def test_ignored_retcodes_are_empty_results(rsps, t, code):
    answer(rsps, {"retcode": code, "result": [{"poll_type": "message", "value": {}}]})
    assert poll(t, CREDS) == PollResult(code, [], None)


def test_ignored_list_comes_from_config(rsps, tmp_path):
    t = Transport(Config(tmpdir=str(tmp_path), ignore_poll_retcode=[10000]))
    answer(rsps, {"retcode": 10000})
    answer(rsps, {"retcode": 102})
    assert poll(t, CREDS).retcode == 10000
    with pytest.raises(ProtocolError):
        poll(t, CREDS)


@pytest.mark.parametrize("code", [100001, 10000, -1])
def test_unknown_retcodes_raise_plain_protocol_error_with_body(rsps, t, code):
    answer(rsps, {"retcode": code, "errmsg": "怪"})
    with pytest.raises(ProtocolError) as err:
        poll(t, CREDS)
    assert type(err.value) is ProtocolError and err.value.body == {"retcode": code, "errmsg": "怪"}


@pytest.mark.parametrize("status", [502, 504, 500, 404])
def test_http_failures_including_502_504_are_reported(rsps, t, status):
    answer(rsps, status=status, body=None)
    with pytest.raises(TransportError) as err:
        poll(t, CREDS)
    assert err.value.status == status


def test_bad_json_and_network_errors(rsps, t):
    rsps.post(URL, body="<html>")
    rsps.post(URL, body=requests.ConnectionError("reset"))
    rsps.post(URL, body=requests.ReadTimeout("slow"))
    with pytest.raises(TransportError, match="invalid JSON"):
        poll(t, CREDS)
    with pytest.raises(TransportError):
        poll(t, CREDS)
    with pytest.raises(PollTimeout):
        poll(t, CREDS)


def test_a_json_list_is_a_protocol_error(rsps, t):
    answer(rsps, [1, 2])
    with pytest.raises(ProtocolError):
        poll(t, CREDS)


def msg(kind, **value):
    value.setdefault("content", [FONT, "hi ", ["face", 14]])
    value.setdefault("msg_id", 5390)
    value.setdefault("time", 1514880000)
    return {"poll_type": kind, "value": value}


def test_every_message_type(rsps, t):
    answer(rsps, {"retcode": 0, "result": [
        msg("message", from_uin=111, to_uin=222, msg_type=0),
        msg("group_message", from_uin=10, group_code=10, send_uin=1001, to_uin=222,
            content=[FONT, "&lt;群&gt; :joy:\r\nx"]),
        msg("discu_message", did=7, from_uin=7, send_uin=3, to_uin=222),
        msg("sess_message", from_uin=4, to_uin=222, id=10, ruin=99, service_type=0, msg_type=140),
        msg("sess_message", from_uin=5, to_uin=222, id=7, service_type=1),
        msg("sess_message", from_uin=6, to_uin=222, id=7, service_type=2),
        {"poll_type": "input_notify", "value": {"from_uin": 1}},
        {"poll_type": "sys_g_msg", "value": {}},
    ]})
    items = poll(t, CREDS).items
    assert [i["type"] for i in items] == ["friend_message", "group_message", "discuss_message",
                                          "sess_message", "sess_message"]
    assert items[0] == {"type": "friend_message", "id": 5390, "sender_id": 111, "receiver_id": 222,
                        "via": None, "time": 1514880000, "content": "hi [微笑]",
                        "raw_content": [{"type": "txt", "content": "hi "},
                                        {"type": "face", "id": 14, "content": "[微笑]"}]}
    assert (items[1]["group_id"], items[1]["sender_id"], items[1]["content"]) == (10, 1001, "<群> [高兴]\nx")
    assert (items[2]["discuss_id"], items[2]["sender_id"]) == (7, 3)
    assert ((items[3]["via"], items[3]["group_id"], items[3]["sender_id"], items[3]["service_type"])
            == ("group", 10, 4, 0))
    assert (items[4]["via"], items[4]["discuss_id"]) == ("discuss", 7)


def test_status_change_and_kick_are_items_and_never_drop_the_batch(rsps, t):
    answer(rsps, {"retcode": 0, "result": [
        {"poll_type": "buddies_status_change", "value": {"uin": 111, "status": "away", "client_type": 21}},
        "garbage",
        {"poll_type": "message", "value": "not a dict"},
        msg("message", from_uin=111, to_uin=222, content=[FONT, ["face", {"bad": 1}], "ok"]),
        {"poll_type": "kick_message", "value": {"show_reason": 1, "reason": "您的帐号在另一地点登录，您已被迫下线。"}},
        {"poll_type": "kick_message", "value": {"show_reason": 0, "reason": "hidden"}},
        msg("message", from_uin=112, to_uin=222),
    ]})
    items = poll(t, CREDS).items
    assert items[0] == {"type": "buddies_status_change", "friend_id": 111, "state": "away",
                        "client_type": "mobile"}
    assert items[1]["content"] == "[表情]ok"
    assert items[2] == {"type": "kick_message", "show_reason": 1, "reason": "您的帐号在另一地点登录，您已被迫下线。"}
    assert items[3]["reason"] == "您已被迫下线"
    assert items[4]["sender_id"] == 112


def test_an_element_that_raises_is_skipped_alone(monkeypatch, rsps, t):
    from openqq_sync.backends.smartqq import poll as poll_mod
    real = poll_mod.parse_item

    def flaky(element):
        if element["value"].get("from_uin") == 1:
            raise KeyError("boom")
        return real(element)

    monkeypatch.setattr(poll_mod, "parse_item", flaky)
    answer(rsps, {"retcode": 0, "result": [msg("message", from_uin=1), msg("message", from_uin=2)]})
    assert [i["sender_id"] for i in poll(t, CREDS).items] == [2]


SHARED = ('<?xml version="1.0" encoding="utf-8"?><d><n t="h" u="123456"/><n t="t" s="共享文件"/>'
          '<n t="t" s="报告&amp;总结.pdf"/></d>')


def test_group_web_message_shared_file(rsps, t):
    answer(rsps, {"retcode": 0, "result": [
        {"poll_type": "group_web_message", "value": {"xml": SHARED, "msg_id": 9, "from_uin": 10,
                                                     "send_uin": 1001, "to_uin": 222}},
        {"poll_type": "group_web_message", "value": {"xml": '<d><n t="t" s="别的"/></d>', "msg_id": 10,
                                                     "from_uin": 10, "send_uin": 1001}},
    ]})
    items = poll(t, CREDS).items
    assert len(items) == 1
    item = items[0]
    assert (item["type"], item["id"], item["group_id"], item["sender_id"]) == ("group_message", 9, 10, 1001)
    assert item["content"] == "共享文件 [报告&总结.pdf]" and item["shared_file"] == "报告&总结.pdf"


def test_group_web_message_with_broken_xml():
    item = parse_item({"poll_type": "group_web_message", "value": {
        "xml": '<d><n t="t" s="共享文件"><n t="t" s="a&amp;b.txt"/>', "msg_id": 1, "from_uin": 2, "send_uin": 3}})
    assert item["content"] == "共享文件 [a&b.txt]"
