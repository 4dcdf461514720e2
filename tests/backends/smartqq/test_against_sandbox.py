"""The protocol layer against the sandbox over loopback: every step a real client makes.

Routing is the production path: real ``*.qq.com`` URLs, sent to the sandbox by the
RoutingAdapter, cookies kept under the real domains.
"""

from __future__ import annotations

import threading

import pytest

from openqq_sync.config import Config
from openqq_sync.backends.smartqq import contacts, ext
from openqq_sync.backends.smartqq.codec import face_parse, safe_truncate
from openqq_sync.errors import LoginExpired, TransportError
from openqq_sync.backends.smartqq.login import QR_CONFIRMING, QR_EXPIRED, QR_OK, QR_WAITING, LoginFlow
from openqq_sync.backends.smartqq.poll import poll
from openqq_sync.backends.smartqq.send import get_sess_sig, send
from openqq_sync.backends.smartqq.transport import Transport

TEXT = "你好 [微笑] <&> 😀"


def make_transport(sandbox, tmp_path) -> Transport:
    return Transport(Config(server=sandbox.url, tmpdir=str(tmp_path)))


def qr_login(t: Transport):
    """The QR path of 5.2: prepare, no restore, QR, status checks until 0, then E-F-G."""
    flow = LoginFlow(t, t.config)
    assert flow.prepare()
    assert flow.pt_login_sig
    assert flow.check_login() is None
    png = flow.fetch_qrcode()
    assert png.startswith(b"\x89PNG")
    seen = []
    pace = threading.Event()   # never set: a bounded pause between checks, as the client paces
    for _ in range(200):
        status = flow.check_qrcode()
        seen.append(status.code)
        if status.code == QR_OK:
            break
        assert status.code in (QR_WAITING, QR_CONFIRMING), status
        pace.wait(0.02)
    assert status.code == QR_OK, seen
    flow.check_sig(status.check_sig_url)
    flow.get_vfwebqq()
    creds = flow.login2()
    return flow, creds, status


@pytest.fixture
def logged_in(sandbox, tmp_path):
    t = make_transport(sandbox, tmp_path)
    flow, creds, status = qr_login(t)
    yield t, flow, creds
    t.close()


def test_qr_login(sandbox, logged_in):
    t, flow, creds = logged_in
    world = sandbox.world.snapshot(members=False)
    assert creds.uid == world["account"]["uid"] == flow.uid
    assert creds.psessionid and creds.vfwebqq
    # session cookies live under the real domains, and the proxy copies reached w.qq.com
    domains = {(c.name, c.domain.lstrip(".")) for c in t.cookies}
    assert ("p_skey", "w.qq.com") in domains and ("p_uin", "w.qq.com") in domains
    assert not any("127.0.0.1" in d for _, d in domains)


def test_qr_expiry_gives_65_and_a_new_code_works(sandbox, tmp_path):
    sandbox.world.auto_scan = None
    t = make_transport(sandbox, tmp_path)
    flow = LoginFlow(t, t.config)
    flow.prepare()
    flow.fetch_qrcode()
    assert flow.check_qrcode().code == QR_WAITING
    sandbox.world.expire_qrcode()
    assert flow.check_qrcode().code == QR_EXPIRED
    flow.fetch_qrcode()
    assert flow.check_qrcode().code == QR_WAITING
    sandbox.world.scan()
    assert flow.check_qrcode().code in (QR_CONFIRMING, QR_OK)
    t.close()


def test_every_fetcher_matches_the_world(sandbox, logged_in):
    t, flow, creds = logged_in
    world = sandbox.world.snapshot()
    user = contacts.fetch_user(t, creds)
    assert user["uid"] == world["account"]["uid"] and user["name"] == world["account"]["name"]
    assert user["client_type"] == "web" and user["signature"] == world["account"]["signature"]

    friends = contacts.fetch_friends(t, creds)
    assert len(friends) == len(world["friends"])
    by_id = {f["id"]: f for f in world["friends"]}
    for f in friends:
        w = by_id[f["id"]]
        assert (f["name"], f["markname"], f["category"]) == (w["name"], w["markname"], w["category"])
        assert f["state"] == w["state"]

    groups = contacts.fetch_groups(t, creds)
    assert len(groups) == len(world["groups"])
    wgroups = {g["id"]: g for g in world["groups"]}
    for g in groups:
        w = wgroups[g["id"]]
        assert (g["name"], g["code"], g["markname"]) == (w["name"], w["code"], w["markname"])
        detail, members = contacts.fetch_group_detail(t, creds, g["code"])
        assert detail["id"] == g["id"] and detail["name"] == w["name"]
        assert len(members) == w["member_count"]
        wm = {m["id"]: m for m in w["members"]}
        for m in members:
            assert m["name"] == wm[m["id"]]["name"]
            assert m["card"] == safe_truncate(wm[m["id"]]["card"])

    discusses = contacts.fetch_discusses(t, creds)
    assert sorted(d["name"] for d in discusses) == sorted(d["name"] for d in world["discusses"])
    wd = {d["id"]: d for d in world["discusses"]}
    for d in discusses:
        detail = contacts.fetch_discuss_detail(t, creds, d["id"])
        w = wd[d["id"]]
        assert detail["name"] == w["name"]
        assert sorted((m["uid"], m["name"]) for m in detail.get("member", [])) == \
            sorted((m["uid"], m["name"]) for m in w["members"])


def test_the_world_has_hard_names(sandbox):
    """The spot checks above are only meaningful if the world holds Chinese, emoji and <&>."""
    names = [f["name"] for f in sandbox.world.snapshot(members=False)["friends"]]
    names += [g["name"] for g in sandbox.world.snapshot(members=False)["groups"]]
    text = "".join(n for n in names if n)
    assert any("\u4e00" <= c <= "\u9fff" for c in text)
    assert any(c in text for c in "<>&")
    assert any(ord(c) > 0xFFFF for c in text)


def test_ext_endpoints(sandbox, logged_in):
    t, flow, creds = logged_in
    world = sandbox.world.snapshot()
    fx = ext.fetch_friends_ext(t)
    assert sorted(f["uid"] for f in fx) == sorted(f["uid"] for f in world["friends"])
    gx = {g["uid"]: g for g in ext.fetch_groups_ext(t)}
    assert set(gx) == {g["uid"] for g in world["groups"]}
    for g in world["groups"]:
        assert gx[g["uid"]]["name"] == g["name"] and gx[g["uid"]]["role"] == g["role"]
    g = world["groups"][0]
    mx = ext.fetch_group_members_ext(t, g["uid"], creds.uid)
    assert sorted(m["uid"] for m in mx) == sorted(m["uid"] for m in g["members"])
    roles = {m["uid"]: m["role"] for m in g["members"]}
    assert all(m["role"] == roles[m["uid"]] for m in mx)


def test_kick_and_shutup(sandbox, logged_in):
    t, flow, creds = logged_in
    world = sandbox.world.snapshot()
    me = creds.uid
    group = next(g for g in world["groups"] if g["role"] in ("create", "manage"))
    plain = [m["uid"] for m in group["members"] if m["role"] == "member" and m["uid"] != me]
    assert ext.shutup_members(t, group["uid"], [(plain[0], 60)])
    assert ext.kick_members(t, group["uid"], [plain[1]])
    log = [(r["action"], r["group_uid"], r["member_uid"], r["ok"], r.get("seconds"))
           for r in sandbox.world.admin_log]
    assert log == [("shutup", group["uid"], plain[0], True, 60),
                   ("kick", group["uid"], plain[1], True, None)]
    after = next(g for g in sandbox.world.snapshot()["groups"] if g["uid"] == group["uid"])
    assert plain[1] not in {m["uid"] for m in after["members"]}
    # not allowed on an owner
    owner = next(m["uid"] for m in group["members"] if m["role"] == "owner")
    if owner != me:
        assert not ext.kick_members(t, group["uid"], [owner])


def test_poll_receives_each_injected_type(sandbox, logged_in):
    t, flow, creds = logged_in
    world = sandbox.world.snapshot()
    friend = world["friends"][0]
    group = world["groups"][0]
    member = next(m for m in group["members"] if m["uid"] != creds.uid)
    disc = world["discusses"][0]
    dmember = next(m for m in disc["members"] if m["uid"] != creds.uid)
    w = sandbox.world
    w.inject_message("friend_message", friend["uid"], TEXT)
    w.inject_message("group_message", member["uid"], TEXT, group_uid=group["uid"])
    w.inject_message("discuss_message", dmember["uid"], TEXT, discuss_key=disc["key"])
    w.inject_message("sess_message", member["uid"], TEXT, group_uid=group["uid"])
    w.inject_message("sess_message", dmember["uid"], TEXT, discuss_key=disc["key"])
    items = []
    session = t.new_session()
    for _ in range(5):
        items += poll(t, creds, session=session, timeout=10).items
        if len(items) >= 5:
            break
    assert [i["type"] for i in items] == ["friend_message", "group_message", "discuss_message",
                                          "sess_message", "sess_message"]
    assert all(i["content"] == "你好 [微笑] <&> 😀" for i in items), [i["content"] for i in items]
    assert items[0]["sender_id"] == friend["id"]
    assert (items[1]["group_id"], items[1]["sender_id"]) == (group["id"], member["id"])
    assert (items[2]["discuss_id"], items[2]["sender_id"]) == (disc["id"], dmember["id"])
    assert (items[3]["via"], items[3]["group_id"]) == ("group", group["id"])
    assert (items[4]["via"], items[4]["discuss_id"]) == ("discuss", disc["id"])


def test_each_send_type_reaches_the_sandbox(sandbox, logged_in):
    t, flow, creds = logged_in
    world = sandbox.world.snapshot()
    friend = world["friends"][0]
    group = world["groups"][0]
    member = next(m for m in group["members"] if m["uid"] != creds.uid)
    disc = world["discusses"][0]
    dmember = next(m for m in disc["members"] if m["uid"] != creds.uid)
    segs = face_parse(TEXT)
    assert send(t, creds, "friend_message", friend["id"], segs, 1).ok
    assert send(t, creds, "group_message", group["id"], segs, 2).ok
    assert send(t, creds, "discuss_message", disc["id"], segs, 3).ok
    sig = get_sess_sig(t, creds, group["id"], member["id"], 0)
    assert sig
    assert send(t, creds, "sess_message", member["id"], segs, 4, sess_sig=sig, service_type=0).ok
    dsig = get_sess_sig(t, creds, disc["id"], dmember["id"], 1)
    assert send(t, creds, "sess_message", dmember["id"], segs, 5, sess_sig=dsig, service_type=1).ok
    sent = sandbox.world.sent
    assert [(s["type"], s["target"]) for s in sent] == [
        ("friend_message", friend["uid"]), ("group_message", group["uid"]),
        ("discuss_message", disc["key"]), ("sess_message", member["uid"]),
        ("sess_message", dmember["uid"])]
    assert all(s["content"] == TEXT for s in sent), [s["content"] for s in sent]
    # an unknown target is the service's ERROR answer
    assert send(t, creds, "friend_message", 1, segs, 6).code == -3


def test_quick_relogin_with_the_cookie_file(sandbox, logged_in, tmp_path):
    t, flow, creds = logged_in
    path = str(tmp_path / "cookies.json")
    t.save_cookies(path)
    fresh = make_transport(sandbox, tmp_path)
    assert fresh.load_cookies(path)
    again = LoginFlow(fresh, fresh.config)
    assert again.prepare()
    url = again.check_login()
    assert url and "/check_sig" in url
    again.check_sig(url)
    again.get_vfwebqq()
    creds2 = again.login2()
    assert creds2.uid == creds.uid and creds2.psessionid
    # ids are kept by a quick relogin
    assert [f["id"] for f in contacts.fetch_friends(fresh, creds2)] == \
        [f["id"] for f in contacts.fetch_friends(t, creds)]
    fresh.close()


def test_expired_session_raises_login_expired_and_pt4_auth_refuses(sandbox, logged_in):
    t, flow, creds = logged_in
    assert sandbox.world.expire_session()
    with pytest.raises(LoginExpired):
        poll(t, creds, timeout=10)
    with pytest.raises(LoginExpired):
        contacts.fetch_user(t, creds, blocking=False)
    assert flow.check_login() is None


def test_poll_retcode_faults(sandbox, logged_in):
    t, flow, creds = logged_in
    w = sandbox.world
    w.add_fault("poll2", retcode=116)
    w.add_fault("poll2", status=502)
    w.add_fault("poll2", retcode=102)
    w.add_fault("poll2", retcode=121)
    r = poll(t, creds, timeout=10)
    assert r.retcode == 116
    with pytest.raises(TransportError) as err:
        poll(t, creds, timeout=10)
    assert err.value.status == 502
    assert poll(t, creds, timeout=10).retcode == 102
    from openqq_sync.errors import NeedRelink
    with pytest.raises(NeedRelink):
        poll(t, creds, timeout=10)
    new = flow.relink(creds)
    assert new.psessionid
    w.inject_message("friend_message", w.snapshot(members=False)["friends"][0]["uid"], "after relink")
    assert poll(t, new, timeout=10).items[0]["content"] == "after relink"


def test_abort_ends_a_held_poll(sandbox, logged_in):
    t, flow, creds = logged_in
    session = t.new_session()
    outcome = {}

    def run():
        try:
            outcome["result"] = poll(t, creds, session=session, timeout=30)
        except TransportError as e:
            outcome["error"] = e

    thread = threading.Thread(target=run, name="test-poll")
    thread.start()
    assert sandbox.world.wait_for_polls(1, timeout=5)
    t.abort(session)
    thread.join(5)
    assert not thread.is_alive()
    assert outcome["error"].aborted
