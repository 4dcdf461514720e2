"""Relogin, relink, poll faults and stop timing paths against the sandbox."""

from client_helpers import our_threads


def _friend(sandbox):
    return sandbox.world.snapshot(members=False)["friends"][0]


def test_session_expiry_leads_to_relogin_and_messages_still_arrive(running_client, sandbox):
    client, rec = running_client
    assert sandbox.world.expire_session()
    rec.wait("relogin", timeout=20)
    assert client.wait_for_state("running", 20), client.error
    # The expired grant killed the saved supertoken too: the relogin scanned again.
    assert [kw["is_scan"] for kw in rec.of("login")] == [1, 1]
    news = [kw["new"] for kw in rec.of("state_change")]
    assert news[-2:] == ["updating", "running"] and news.count("running") == 2
    wf = _friend(sandbox)
    sandbox.world.inject_message("friend_message", wf["uid"], "after relogin r1")
    msg = rec.wait("receive_message", lambda kw: "r1" in kw["msg"].content)["msg"]
    assert msg.sender.id == sandbox.world.snapshot(members=False)["friends"][0]["id"]
    # Ext data is back after the relogin (the original lost it, bug 11).
    assert client.contacts.friend(msg.sender.id).uid == wf["uid"]
    assert all(g.uid is not None for g in client.contacts.groups())


def test_request_relogin_uses_saved_cookies_first(running_client, sandbox):
    client, rec = running_client
    client.request_relogin()
    rec.wait("relogin", timeout=20)
    assert client.wait_for_state("running", 20)
    # logout invalidates the quick-restore cookies in the sandbox (16.4), so a scan follows;
    # what matters: one login per relogin, no recursion, polling again.
    assert len(rec.of("login")) == 2
    sandbox.world.inject_message("friend_message", _friend(sandbox)["uid"], "r2")
    rec.wait("receive_message", lambda kw: kw["msg"].content == "r2")


def test_poll_502_504_and_network_errors_back_off_and_recover(running_client, sandbox):
    client, rec = running_client
    sandbox.world.add_fault("poll2", count=1, status=502)
    sandbox.world.add_fault("poll2", count=1, status=504)
    sandbox.world.add_fault("poll2", count=1, status=500)
    sandbox.world.inject_message("friend_message", _friend(sandbox)["uid"], "after 5xx p1")
    rec.wait("receive_message", lambda kw: "p1" in kw["msg"].content)
    assert rec.of("relogin") == [] and client.state == "running"


def test_ignored_and_unknown_poll_retcodes(running_client, sandbox):
    client, rec = running_client
    sandbox.world.add_fault("poll2", count=5, retcode=102)       # ignored
    sandbox.world.add_fault("poll2", count=3, retcode=100001)    # 3 <= poll_failure_count_max
    sandbox.world.inject_message("friend_message", _friend(sandbox)["uid"], "p2")
    rec.wait("receive_message", lambda kw: kw["msg"].content == "p2")
    assert rec.of("relogin") == []
    sandbox.world.add_fault("poll2", count=4, retcode=100001)    # the 4th in a row: relogin
    rec.wait("relogin", timeout=20)


def test_relink_on_retcode_121(running_client, sandbox):
    client, rec = running_client
    before = client.backend._creds
    uid = _friend(sandbox)["uid"]
    assert sandbox.world.wait_for_polls(1, 5)
    sandbox.world.add_fault("poll2", count=1, retcode=121)
    sandbox.world.inject_message("friend_message", uid, "p3")   # answers the held poll
    rec.wait("receive_message", lambda kw: kw["msg"].content == "p3")
    # The next poll got 121; the poll held after it runs on the relinked channel.
    assert sandbox.world.wait_for_polls(1, 5)
    sandbox.world.inject_message("friend_message", uid, "p4")
    rec.wait("receive_message", lambda kw: kw["msg"].content == "p4")
    assert rec.of("relogin") == [] and client._rt.online
    assert client.backend._creds.uid == before.uid


def test_expired_login_retcode_relogs_in(running_client, sandbox):
    client, rec = running_client
    sandbox.world.add_fault("poll2", count=1, retcode=103)
    rec.wait("relogin", timeout=20)
    assert client.wait_for_state("running", 20)


def test_stop_aborts_a_held_poll(running_client, sandbox):
    client, rec = running_client
    assert sandbox.world.wait_for_polls(1, 5)
    sandbox.world.add_fault("poll2", count=1, hang=30)   # the next poll hangs for 30 s
    client.stop(timeout=5)
    assert our_threads(client.config.account) == []
    assert client.state == "stop"


def test_stop_cancels_queued_sends(sandbox, make_client):
    client, _ = make_client(sandbox.url, send_interval=30)
    assert client.wait_for_state("running", 20)
    friend = client.contacts.friends()[0]
    first = client.send_friend_message(friend, "first")
    second = client.send_friend_message(friend, "second")
    assert first.wait(10).code == 0
    client.stop(timeout=5)
    assert (second.wait(1).code, second.wait(1).info) == (-5, "客户端已停止")
    assert our_threads(client.config.account) == []


def test_relogin_keeps_trying_while_the_service_is_unreachable(running_client, sandbox):
    client, rec = running_client
    # Every QR download fails for a while (2 attempts per try): the relogin retries with
    # a backoff instead of stopping the client.
    sandbox.world.add_fault("ptqrshow", count=4, status=503)
    sandbox.world.expire_session()
    rec.wait("relogin", timeout=20)
    assert client.wait_for_state("running", 20) and client.error is None
    assert [kw["is_scan"] for kw in rec.of("login")] == [1, 1]


def test_stop_during_a_hanging_refresh(running_client, sandbox):
    client, _ = running_client
    sandbox.world.add_fault("get_user_friends2", count=1, hang=30)
    assert client.refresh_contacts(timeout=0.5) is False     # the updater is stuck in the hang
    client.stop(timeout=5)
    assert our_threads(client.config.account) == []


def test_a_crash_of_the_protocol_thread_stops_the_client_cleanly(sandbox, make_client, monkeypatch):
    from openqq_sync.client.loader import Loader

    def broken(self, **kwargs):
        raise RuntimeError("bug in the loader")

    monkeypatch.setattr(Loader, "load_initial", broken)
    client, rec = make_client(sandbox.url)
    assert client.join(20)
    assert client.state == "stop" and "bug in the loader" in client.error
    assert len(rec.of("stop")) == 1
    assert our_threads(client.config.account) == []
