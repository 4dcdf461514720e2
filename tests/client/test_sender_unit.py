"""The sender's pieces driven synchronously: message ids, TTL, failure counting, handles."""

import pytest

from openqq_sync._sender import FAIL_TTL, MessageIds, SendHandle, Sender
from openqq_sync.client import Client
from openqq_sync.config import Config
from openqq_sync.model import Friend, Message
from openqq_sync.protocol.login import Credentials

from client_helpers import SignalRecorder


def test_message_ids_follow_the_original_formula():
    ids = MessageIds(now=1514880123.9)
    # (unix seconds mod 10000) * 10000, then pre-incremented
    assert [ids(), ids(), ids()] == [1230001, 1230002, 1230003]


def test_handle_wait_times_out_then_completes():
    msg = Message("friend_message", "send", id=1)
    handle = SendHandle(msg)
    with pytest.raises(TimeoutError):
        handle.wait(0.01)
    assert not handle.done()
    msg.set_status(0, "发送成功", "发送正常")
    handle._complete()
    assert handle.wait(0) is msg and handle.done() and handle.id == 1


def test_handle_releases_every_waiter_and_stays_final():
    import threading
    msg = Message("friend_message", "send", id=7)
    handle = SendHandle(msg)
    got, started = [], threading.Barrier(5)

    def waiter():
        started.wait()
        got.append(handle.wait(30))

    threads = [threading.Thread(target=waiter, name=f"test-waiter-{i}") for i in range(4)]
    for t in threads:
        t.start()
    started.wait()
    handle._complete()
    handle._complete()                      # a second completion changes nothing
    for t in threads:
        t.join(30)
    assert got == [msg] * 4
    assert handle.wait(0) is msg and handle.wait(None) is msg and handle.wait(-1) is msg


def test_handle_negative_timeout_is_an_immediate_check():
    handle = SendHandle(Message("friend_message", "send", id=8))
    with pytest.raises(TimeoutError):
        handle.wait(-5)
    with pytest.raises(TimeoutError):
        handle.wait(0)


@pytest.fixture
def client(tmp_path):
    c = Client(Config(account="sender", tmpdir=str(tmp_path), send_failure_count_max=3))
    c._publish_credentials(Credentials(uid=1, ptwebqq=None, vfwebqq="v", psessionid="s"))
    yield c
    c._stop_event.set()


def _handle(ttl=3):
    msg = Message("friend_message", "send", id=5, receiver=Friend(id=2, name="f"), receiver_id=2)
    msg.set(ttl=ttl)
    return SendHandle(msg)


def test_ttl_exhausted_reports_without_sending(client):
    rec = SignalRecorder(client)
    handle = _handle(ttl=0)
    client._sender._dispatch(handle)
    assert (handle.wait(0).code, handle.wait(0).info) == FAIL_TTL[::2]
    assert [kw["msg"] for kw in rec.of("send_message")] == [handle.msg]
    rec.close()


def test_consecutive_minus_3_failures_ask_for_a_relogin(client):
    sender: Sender = client._sender
    for _ in range(2):
        sender._finish(_handle(), (-3, "发送失败", "发送异常"))
    assert not client._relogin_event.is_set()
    sender._finish(_handle(), (0, "发送成功", "发送正常"))        # a success resets the count
    for _ in range(2):
        sender._finish(_handle(), (-3, "发送失败", "发送异常"))
    assert not client._relogin_event.is_set()
    sender._finish(_handle(), (-3, "发送失败", "发送异常"))
    assert client._relogin_event.is_set()


def test_sends_refused_before_running(client):
    with pytest.raises(RuntimeError):
        client.send_friend_message(Friend(id=2, name="f"), "x")


def test_unknown_member_load_is_refused(tmp_path):
    with pytest.raises(ValueError):
        Client(Config(account="x", tmpdir=str(tmp_path), member_load="later"))
