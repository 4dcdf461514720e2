"""Contact fetchers and ext endpoints: mappings of sections 6.1-6.7 and 9 (responses)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from responses import matchers

from openqq_sync.backends.smartqq import contacts, ext
from openqq_sync.backends.smartqq.hashes import bkn, friend_hash
from openqq_sync.backends.smartqq.login import Credentials
from openqq_sync.backends.smartqq.transport import Transport
from openqq_sync.config import Config
from openqq_sync.errors import LoginExpired, ProtocolError

CREDS = Credentials(uid=2890374383, ptwebqq="a1b2c3d4e5f6", vfwebqq="VF", psessionid="PS")
S = "https://s.web2.qq.com/api/"
D = "http://d1.web2.qq.com/channel/"


@pytest.fixture
def t(tmp_path):
    return Transport(Config(tmpdir=str(tmp_path), mode="away"))


def test_user_mapping_keeps_names_raw_and_drops_vfwebqq(rsps, t):
    rsps.get(S + "get_self_info2", json={"retcode": 0, "result": {
        "birthday": {"year": 1990, "month": 1, "day": 5}, "face": 0, "uin": 777, "nick": "我&amp;你 😀",
        "lnick": "签名<>", "gender": "female", "account": 2890374383, "vfwebqq": "x"}})
    user = contacts.fetch_user(t, CREDS)
    # vfwebqq is a session secret: not kept in the account's record (issue 17).
    assert user == {"birthday": "1990-1-5", "face": 0, "account": 2890374383,
                    "state": "away", "name": "我&amp;你 😀", "client_type": "web",
                    "signature": "签名<>", "sex": "female", "uid": 2890374383, "id": 777}


def test_user_failure_raises(rsps, t):
    rsps.get(S + "get_self_info2", json={"retcode": 103})
    with pytest.raises(LoginExpired):
        contacts.fetch_user(t, CREDS, blocking=False)


FRIENDS = {"retcode": 0, "result": {
    "friends": [{"flag": 0, "uin": 111, "categories": 0}, {"flag": 4, "uin": 222, "categories": 1},
                {"flag": 0, "uin": 333, "categories": 9}],
    "marknames": [{"uin": 222, "markname": "老&lt;王&gt;", "type": 0}],
    "categories": [{"index": 1, "sort": 1, "name": "朋友&amp;家人"}],
    "vipinfo": [{"vip_level": 3, "u": 111, "is_vip": 1}],
    "info": [{"face": 5, "flag": 8388608, "nick": "卖茶叶&nbsp;😀", "uin": 111},
             {"face": 0, "flag": 0, "nick": "王", "uin": 222},
             {"face": 1, "flag": 0, "nick": "x", "uin": 333}]}}


def test_friends_mapping(rsps, t):
    rsps.post(S + "get_user_friends2", json=FRIENDS, match=[matchers.urlencoded_params_matcher(
        {"r": json.dumps({"hash": friend_hash(CREDS.ptwebqq, CREDS.uid), "vfwebqq": "VF"},
                         separators=(",", ":"))})])
    rsps.get(D + "get_online_buddies2", json={"retcode": 0, "result": [
        {"uin": 111, "status": "busy", "client_type": 21}]},
        match=[matchers.query_param_matcher({"vfwebqq": "VF", "clientid": "53999199",
                                             "psessionid": "PS"}, strict_match=False)])
    friends = contacts.fetch_friends(t, CREDS)
    assert friends[0] == {"flag": 0, "id": 111, "state": "busy", "client_type": "mobile",
                          "category": "我的好友", "name": "卖茶叶 😀", "face": 5, "markname": None,
                          "is_vip": 1, "vip_level": 3}
    assert friends[1]["category"] == "朋友&家人" and friends[1]["markname"] == "老<王>"
    assert friends[1]["state"] == "offline" and friends[1]["client_type"] == "unknown"
    assert friends[1]["flag"] == 4 and friends[1]["is_vip"] is None
    assert friends[2]["category"] is None


def test_friends_survive_a_failed_presence_call(rsps, t):
    rsps.post(S + "get_user_friends2", json=FRIENDS)
    rsps.get(D + "get_online_buddies2", status=500)
    rsps.get(D + "get_online_buddies2", status=500)
    rsps.get(D + "get_online_buddies2", status=500)
    assert len(contacts.fetch_friends(t, CREDS)) == 3


def test_friends_retcode_fails(rsps, t):
    rsps.post(S + "get_user_friends2", json={"retcode": 100001})
    with pytest.raises(ProtocolError):
        contacts.fetch_friends(t, CREDS, blocking=False)


def test_groups_mapping_with_gmarklist_and_query_r(rsps, t):
    rsps.get(S + "get_group_name_list_mask2", json={"result": {
        "gnamelist": [{"flag": 1, "name": "Perl&amp;技术 <群>", "gid": 10, "code": 20},
                      {"flag": 1, "name": "b", "gid": 11, "code": 21, "markname": "own&lt;"}],
        "gmarklist": [{"uin": 10, "markname": "标记"}], "gmasklist": []}})
    groups = contacts.fetch_groups(t, CREDS)
    assert groups == [{"name": "Perl&技术 <群>", "code": 20, "id": 10, "markname": "标记"},
                      {"name": "b", "code": 21, "markname": "own<", "id": 11}]
    query = parse_qs(urlsplit(rsps.calls[0].request.url).query)
    assert json.loads(query["r"][0]) == {"hash": friend_hash(CREDS.ptwebqq, CREDS.uid), "vfwebqq": "VF"}


def test_groups_without_gnamelist_fail(rsps, t):
    rsps.get(S + "get_group_name_list_mask2", json={"retcode": 100000})
    with pytest.raises(LoginExpired):
        contacts.fetch_groups(t, CREDS, blocking=False)


def test_group_detail_mapping(rsps, t):
    rsps.get(S + "get_group_info_ext2", json={"retcode": 0, "result": {
        "ginfo": {"gid": 10, "code": 20, "name": "群&lt;1&gt;", "memo": "m&amp;", "createtime": 1,
                  "level": 0, "owner": 1001, "face": 0, "class": 1, "fingermemo": "", "flag": 1,
                  "option": 2, "members": [{"muin": 1001, "mflag": 0}], "extra": "kept"},
        "minfo": [{"uin": 1001, "nick": "群主&amp;", "gender": "male", "province": "广东", "country": "中国",
                   "city": "深圳"},
                  {"uin": 1002, "nick": "b", "gender": "female", "province": "", "country": "", "city": ""}],
        "stats": [{"uin": 1001, "stat": 50, "client_type": 41}, {"uin": 1002, "stat": 99, "client_type": 7}],
        "cards": [{"muin": 1001, "card": "一二三四五六七八&amp;"}],
        "vipinfo": []}}, match=[matchers.query_param_matcher({"gcode": "20", "vfwebqq": "VF"}, strict_match=False)])
    group, members = contacts.fetch_group_detail(t, CREDS, 20)
    assert group == {"code": 20, "name": "群<1>", "memo": "m&amp;", "createtime": 1, "level": 0,
                     "extra": "kept", "id": 10, "owner_id": 1001, "markname": None}
    assert members[0] == {"province": "广东", "country": "中国", "city": "深圳", "id": 1001,
                          "name": "群主&", "sex": "male", "card": "一二三四五六七",
                          "state": "busy", "client_type": "web"}
    assert members[1]["card"] is None and members[1]["state"] == "online"
    assert members[1]["client_type"] == "unknown"


def test_group_detail_odd_values_map_as_the_tables_say(rsps, t):
    rsps.get(S + "get_group_info_ext2", json={"retcode": 0, "result": {
        "ginfo": {"gid": 10, "code": 20, "name": "g"},
        "minfo": [{"uin": 1, "nick": 5, "gender": None, "province": "广东", "country": "中国", "city": ""},
                  {"uin": 2, "nick": "a&amp;b", "gender": "male", "province": "广东", "country": "中国"},
                  {"uin": 3, "nick": "a&amp;b", "gender": "male"}],
        "stats": [{"uin": 1, "stat": "50", "client_type": "41"}, {"uin": 2, "stat": True, "client_type": 1.0},
                  {"uin": 3, "stat": [1], "client_type": None}],
        "cards": [{"muin": 1, "card": 7}, {"muin": 2, "card": ""}, {"muin": 3, "card": "卡&lt;一二三四五六七八"}]}})
    group, members = contacts.fetch_group_detail(t, CREDS, 20)
    assert members == [
        {"province": "广东", "country": "中国", "city": "", "id": 1, "name": 5, "sex": None, "card": 7,
         "state": "busy", "client_type": "web"},
        {"province": "广东", "country": "中国", "id": 2, "name": "a&b", "sex": "male", "card": "",
         "state": "online", "client_type": "pc"},
        {"id": 3, "name": "a&b", "sex": "male", "card": "卡<一二三四五",
         "state": "online", "client_type": "unknown"}]
    # Texts that repeat across members are one shared string each.
    assert members[0]["province"] is members[1]["province"]
    assert members[1]["name"] is members[2]["name"] and members[1]["sex"] is members[2]["sex"]


def test_group_detail_without_minfo_is_discarded(rsps, t):
    rsps.get(S + "get_group_info_ext2", json={"retcode": 0, "result": {"ginfo": {"gid": 1}}})
    with pytest.raises(ProtocolError):
        contacts.fetch_group_detail(t, CREDS, 2, blocking=False)


def test_discusses_names_not_decoded(rsps, t):
    rsps.get(S + "get_discus_list", json={"retcode": 0, "result": {"dnamelist": [
        {"name": "讨论&amp;组", "did": 612950676}]}})
    assert contacts.fetch_discusses(t, CREDS) == [{"name": "讨论&amp;组", "id": 612950676}]


def test_discuss_detail(rsps, t):
    rsps.get(D + "get_discu_info", json={"retcode": 0, "result": {
        "info": {"did": 5, "discu_name": "讨论&lt;", "discu_owner": 1,
                 "mem_list": [{"mem_uin": 1, "ruin": 111}, {"mem_uin": 2, "ruin": 222}]},
        "mem_info": [{"uin": 1, "nick": "甲&amp;"}, {"uin": 2, "nick": "乙"}],
        "mem_status": [{"uin": 2, "status": "online", "client_type": 24}]}},
        match=[matchers.query_param_matcher({"did": "5", "vfwebqq": "VF", "clientid": "53999199",
                                             "psessionid": "PS"}, strict_match=False)])
    d = contacts.fetch_discuss_detail(t, CREDS, 5)
    assert d == {"id": 5, "owner_id": 1, "name": "讨论&lt;", "member": [
        {"id": 1, "name": "甲&amp;", "uid": 111, "state": "offline", "client_type": "unknown"},
        {"id": 2, "name": "乙", "uid": 222, "state": "online", "client_type": "iphone"}]}


def test_discuss_detail_failure(rsps, t):
    rsps.get(D + "get_discu_info", json={"retcode": 0, "result": {}})
    with pytest.raises(ProtocolError):
        contacts.fetch_discuss_detail(t, CREDS, 5, blocking=False)


def test_code_tables():
    assert [contacts.code2state(c) for c in (10, 20, 30, 40, 50, 60, 70, 0, None)] == [
        "online", "offline", "away", "hidden", "busy", "callme", "silent", "online", "online"]
    assert [contacts.code2client(c) for c in (1, 21, 24, 41, 2, None)] == [
        "pc", "mobile", "iphone", "web", "unknown", "unknown"]


# --- ext -------------------------------------------------------------------------------
@pytest.fixture
def skeyed(t):
    t.set_cookie("skey", "@Ab3Cd5Ef", "qq.com")
    return t


def bkn_form(**fields):
    return matchers.urlencoded_params_matcher({**{k: str(v) for k, v in fields.items()},
                                               "bkn": str(bkn("@Ab3Cd5Ef"))})


def test_friends_ext(rsps, skeyed):
    rsps.post("http://qun.qq.com/cgi-bin/qun_mgr/get_friend_list", match=[bkn_form()], json={
        "ec": 0, "result": {"0": {"mems": [{"name": "卖茶叶", "uin": 744891290}]},
                            "1": {"gname": "朋友&amp;", "mems": [{"name": "a&lt;", "uin": 1}]}}})
    assert ext.fetch_friends_ext(skeyed) == [
        {"category": "我的好友", "displayname": "卖茶叶", "uid": 744891290},
        {"category": "朋友&", "displayname": "a<", "uid": 1}]
    assert bkn("@Ab3Cd5Ef") == 27679842


def test_groups_ext(rsps, skeyed):
    rsps.post("http://qun.qq.com/cgi-bin/qun_mgr/get_group_list", json={
        "ec": 0, "join": [{"gc": 1299322, "gn": "perl&amp;技术", "owner": 4866832}],
        "manage": [{"gc": 2, "gn": "m", "owner": 3}], "create": [{"gc": 4, "gn": "c", "owner": 5}]})
    assert ext.fetch_groups_ext(skeyed) == [
        {"name": "perl&技术", "uid": 1299322, "owner_uid": 4866832, "role": "attend"},
        {"name": "m", "uid": 2, "owner_uid": 3, "role": "manage"},
        {"name": "c", "uid": 4, "owner_uid": 5, "role": "create"}]


def test_group_members_ext(rsps, skeyed):
    rsps.post("http://qinfo.clt.qq.com/cgi-bin/qun_info/get_group_members",
              match=[bkn_form(gc=99, u=2890374383)], json={
                  "ec": 0, "owner": 1, "adm": [2],
                  "mems": [{"u": 1, "n": "主&amp;", "g": 0}, {"u": 2, "n": "管", "g": 1},
                           {"u": 3, "n": "员", "g": 255}],
                  "cards": {"1": "一二三四五六七八", "3": ""}, "times": {"1": 100}, "join": {"2": 50}})
    assert ext.fetch_group_members_ext(skeyed, 99, 2890374383) == [
        {"uid": 1, "role": "owner", "card": "一二三四五六七", "name": "主&", "last_speak_time": 100, "join_time": None,
         "sex": "male"},
        {"uid": 2, "role": "admin", "card": None, "name": "管", "last_speak_time": None, "join_time": 50,
         "sex": "female"},
        {"uid": 3, "role": "member", "card": None, "name": "员", "last_speak_time": None, "join_time": None,
         "sex": None}]


def test_group_members_ext_odd_cards(rsps, skeyed):
    rsps.post("http://qinfo.clt.qq.com/cgi-bin/qun_info/get_group_members", json={
        "ec": 0, "owner": 9, "mems": [{"u": 1, "n": 5}, {"u": 2, "n": "x&amp;y"}, {"u": 3}, {"u": 4, "n": "x&amp;y"}],
        "cards": {"1": 5, "2": "x&amp;y", "3": 0, "4": "&lt;一二三四五六七八"}})
    got = ext.fetch_group_members_ext(skeyed, 99, 2890374383)
    assert [(m["name"], m["card"]) for m in got] == [(5, 5), ("x&y", "x&y"), (None, None), ("x&y", "<一二三四五六")]
    assert got[1]["name"] is got[3]["name"]


def test_ext_without_skey_raises(t):
    with pytest.raises(ProtocolError):
        ext.fetch_groups_ext(t)
    assert ext.kick_members(t, 1, [2]) is False


def test_ext_error_code(rsps, skeyed):
    rsps.post("http://qun.qq.com/cgi-bin/qun_mgr/get_group_list", json={"ec": 1})
    with pytest.raises(ProtocolError) as err:
        ext.fetch_groups_ext(skeyed)
    assert err.value.retcode == 1 and type(err.value) is ProtocolError


def test_kick_and_shutup(rsps, skeyed):
    rsps.post("http://qun.qq.com/cgi-bin/qun_mgr/delete_group_member",
              match=[bkn_form(gc=99, ul="11|12", flag=0),
                     matchers.header_matcher({"Referer": "http://qun.qq.com/member.html"})], json={"ec": 0})
    rsps.post("http://qinfo.clt.qq.com/cgi-bin/qun_info/set_group_shutup",
              match=[bkn_form(gc=99, shutup_list='[{"uin":11,"t":60},{"uin":12,"t":0}]'),
                     matchers.header_matcher({"Referer": "http://qinfo.clt.qq.com/qinfo_v3/member.html"})],
              json={"ec": 0})
    assert ext.kick_members(skeyed, 99, [11, 12])
    assert ext.shutup_members(skeyed, 99, [(11, 60), (12, 0)])


def test_kick_refused(rsps, skeyed):
    # a refusal is an answer, not a transport failure: no retry
    rsps.post("http://qun.qq.com/cgi-bin/qun_mgr/delete_group_member", json={"ec": 7})
    assert ext.kick_members(skeyed, 99, [11]) is False
