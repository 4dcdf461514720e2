"""Send payloads (8.5), sess signature (8.6) and every row of the status table (8.7)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest
import requests
from responses import matchers

from openqq_sync.backends.smartqq.codec import face_parse
from openqq_sync.backends.smartqq.login import Credentials
from openqq_sync.backends.smartqq.send import SendStatus, get_sess_sig, parse_send_status, send
from openqq_sync.backends.smartqq.transport import Transport
from openqq_sync.config import Config

CREDS = Credentials(uid=1, ptwebqq="PTW", vfwebqq="VF", psessionid="PS")
D = "http://d1.web2.qq.com/channel/"
FONT = ["font", {"name": "宋体", "size": 10, "style": [0, 0, 0], "color": "000000"}]


def r_of(call):
    return json.loads(parse_qs(call.request.body)["r"][0])


@pytest.mark.parametrize("kind, endpoint, key, face", [
    ("friend_message", "send_buddy_msg2", "to", 570),
    ("group_message", "send_qun_msg2", "group_uin", 591),
    ("discuss_message", "send_discu_msg2", "did", 591),
])
def test_payloads(rsps, t, kind, endpoint, key, face):
    rsps.post(D + endpoint, json={"errCode": 0, "msg": "send ok"},
              match=[matchers.header_matcher({"Referer": "http://d1.web2.qq.com/proxy.html?v=20151105001&callback=1&id=2"})])
    status = send(t, CREDS, kind, 123, face_parse("你好[微笑]<&>"), 10001, None)
    assert status == SendStatus(0, "发送成功", "发送正常") and status.ok
    r = r_of(rsps.calls[0])
    assert r == {key: 123, "face": face, "content": r["content"], "msg_id": 10001,
                 "clientid": 53999199, "psessionid": "PS"}
    assert list(r) == [key, "face", "content", "msg_id", "clientid", "psessionid"]
    assert json.loads(r["content"]) == ["你好", ["face", 14], "<&>", FONT]
    raw_r = parse_qs(rsps.calls[0].request.body)["r"][0]
    assert "你好" in raw_r and "\\u" not in raw_r   # raw UTF-8, no \u escapes


def test_user_face_is_used(rsps, t):
    rsps.post(D + "send_buddy_msg2", json={"retcode": 0})
    send(t, CREDS, "friend_message", 1, face_parse("x"), 1, 33)
    assert r_of(rsps.calls[0])["face"] == 33


def test_sess_payload(rsps, t):
    rsps.post(D + "send_sess_msg2", json={"errCode": 0, "msg": "send ok"})
    assert send(t, CREDS, "sess_message", 77, face_parse("hi"), 5, None, sess_sig="SIG",
                service_type=1).ok
    r = r_of(rsps.calls[0])
    assert r == {"to": 77, "group_sig": "SIG", "face": 591,
                 "content": '["hi",%s]' % json.dumps(FONT, ensure_ascii=False, separators=(",", ":")),
                 "msg_id": 5, "service_type": 1, "clientid": 53999199, "psessionid": "PS"}


def test_sess_without_signature_is_not_sent(t):
    assert send(t, CREDS, "sess_message", 77, face_parse("hi"), 5) == SendStatus(-5, "发送失败", "无法获取到sess_sig")


def test_unknown_type(t):
    with pytest.raises(ValueError):
        send(t, CREDS, "bogus", 1, [], 1)


@pytest.mark.parametrize("body, expected", [
    ({"errCode": 0, "msg": "send ok"}, (0, "发送成功", "发送正常")),
    ({"errCode": 0, "errMsg": "ERROR"}, (-3, "发送失败", "发送异常")),
    ({"errCode": 1, "msg": "什么"}, (-4, "发送失败", '响应未知: {"errCode":1,"msg":"什么"}')),
    ({"retcode": 0}, (0, "发送成功", "发送正常")),
    ({"retcode": 1202}, (0, "发送成功", "忽略返回值: 1202")),
    ({"retcode": 100100}, (0, "发送成功", "忽略返回值: 100100")),
    ({"retcode": 108}, (-5, "发送失败", "未识别返回值:108")),
    ({"result": "neither key"}, (-2, "发送失败", '响应未知: {"result":"neither key"}')),
])
def test_status_table(rsps, t, body, expected):
    rsps.post(D + "send_qun_msg2", json=body)
    assert send(t, CREDS, "group_message", 1, face_parse("x"), 1) == SendStatus(*expected)


@pytest.mark.parametrize("kw", [
    {"status": 500, "body": "x"},
    {"status": 502, "body": "x"},
    {"body": "not json"},
    {"body": requests.ConnectionError("reset")},
])
def test_no_json_is_minus_one_and_one_attempt(rsps, t, kw):
    rsps.post(D + "send_discu_msg2", **kw)
    assert send(t, CREDS, "discuss_message", 1, face_parse("x"), 1) == SendStatus(-1, "发送失败", "数据格式错误")
    assert len(rsps.calls) == 1


def test_ignored_send_retcodes_from_config(rsps, tmp_path):
    t = Transport(Config(tmpdir=str(tmp_path), ignore_send_retcode=[7]))
    rsps.post(D + "send_qun_msg2", json={"retcode": 7})
    assert send(t, CREDS, "group_message", 1, face_parse("x"), 1).info == "忽略返回值: 7"


def test_parse_send_status_non_object():
    assert parse_send_status([1]).code == -2


def test_sess_sig(rsps, t):
    rsps.get(D + "get_c2cmsg_sig2", json={"retcode": 0, "result": {"type": 0, "value": "SIGV", "flags": {}}},
             match=[matchers.query_param_matcher({"id": "10", "to_uin": "77", "service_type": "0",
                                                  "clientid": "53999199", "psessionid": "PS"},
                                                 strict_match=False)])
    assert get_sess_sig(t, CREDS, 10, 77, 0) == "SIGV"


@pytest.mark.parametrize("body", [{"retcode": 0, "result": {"value": ""}}, {"retcode": 5}, [1]])
def test_sess_sig_missing(rsps, t, body):
    rsps.get(D + "get_c2cmsg_sig2", json=body)
    assert get_sess_sig(t, CREDS, 10, 77, 1) is None
