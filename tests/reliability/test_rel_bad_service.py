"""Bad input from the service side: whatever poll2 answers, one poll's handling never raises
out of ``PollLoop.once()`` (which would end the protocol thread and stop the client); it
returns None (poll again), RELOGIN or STOP.

Property test (hypothesis) over mutated poll2 bodies: wrong types everywhere, missing and
extra keys, unknown poll types, odd content arrays, huge and non-BMP strings, and raw bytes
(invalid UTF-8, truncated JSON). ``responses`` stands in for the service: these are wire
edge cases the sandbox never produces.
"""

from __future__ import annotations

import contextlib
import json
import os

import pytest
import responses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openqq_sync.client import Client
from openqq_sync.client.poller import RELOGIN, STOP
from stacks import DISCUSS, FRIEND, GROUP, ME, MEMBER, poll_loop, seeded_client

POLL = "http://d1.web2.qq.com/channel/poll2"
LOGIN2 = "http://d1.web2.qq.com/channel/login2"
FONT = ["font", {"name": "宋体", "size": 10, "style": [0, 0, 0], "color": "000000"}]

junk = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
                 st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
                 st.text(max_size=5000), st.lists(st.integers(), max_size=3),
                 st.dictionaries(st.text(max_size=5), st.integers(), max_size=3))
ids = st.sampled_from([FRIEND, GROUP, MEMBER, DISCUSS, ME, 0, -1, 999999]) | junk
segment = st.one_of(st.text(max_size=30), st.just(FONT), st.tuples(st.just("face"), junk).map(list),
                    st.tuples(st.sampled_from(["cface", "offpic", "face", "font"]), junk).map(list), junk)
content = st.lists(segment, max_size=6) | junk
poll_types = st.sampled_from(["message", "group_message", "discu_message", "sess_message",
                              "buddies_status_change", "input_notify", "group_web_message",
                              "sys_g_msg", "shake_message", "nope"]) | junk
value = st.fixed_dictionaries(
    {}, optional={"msg_id": junk | st.integers(0, 10**6), "from_uin": ids, "to_uin": ids, "send_uin": ids,
                  "group_code": ids, "did": ids, "id": ids, "service_type": st.sampled_from([0, 1, 7]) | junk,
                  "time": st.integers(0, 2**40) | junk, "content": content, "uin": ids,
                  "status": st.sampled_from(["online", "offline"]) | junk, "client_type": junk,
                  "reason": junk, "show_reason": junk, "xml": junk, "type": junk})
item = st.fixed_dictionaries({"poll_type": poll_types, "value": value | junk}) | junk
body = st.one_of(
    st.fixed_dictionaries({"retcode": st.sampled_from([0, 0, 0, 116, 102, 100001]) | junk},
                          optional={"result": st.lists(item, max_size=4) | junk, "p": junk, "errmsg": junk}),
    st.lists(item, max_size=2), junk)
raw = st.one_of(st.binary(max_size=200), st.just(b'{"retcode":0,"result":[{"poll_type":"message"'),
                st.just(b'\xff\xfe{"retcode":0}'),
                st.just('{"retcode":0,"result":"\ud800"}'.encode("utf-8", "surrogatepass")))


@pytest.fixture
def client(tmp_path):
    c = seeded_client(tmp_path, "badsvc", show_message=True, poll_retry_max_delay=0.0)
    yield c
    c.stop()


def _once(client, payload: bytes, status: int = 200):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.POST, POLL, status=status, body=payload)
        rsps.add(responses.POST, LOGIN2, status=200, body=b'{"retcode":103}')     # a relink fails
        return poll_loop(client).once()


@settings(max_examples=int(os.environ.get("OPENQQ_FUZZ_EXAMPLES", "200")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=body)
def test_any_poll2_json_is_handled_without_raising(client, data):
    payload = json.dumps(data, ensure_ascii=False, allow_nan=True).encode("utf-8")
    assert _once(client, payload) in (None, RELOGIN, STOP)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=raw, status=st.sampled_from([200, 200, 500, 502, 404]))
def test_any_poll2_bytes_are_handled_without_raising(client, data, status):
    assert _once(client, data, status) in (None, RELOGIN, STOP)


CONTACT_ENDPOINTS = ("get_user_friends2", "get_group_name_list_mask2", "get_discus_list", "get_group_info_ext2",
                     "get_discu_info", "get_online_buddies2", "get_self_info2", "get_friend_list",
                     "get_group_list", "get_group_members")
JUNK = [None, 1, "x", [], {}, [1, 2], {"a": 1}, [{"x": None}], [None], 1e308, -1, True, "中文"]


def _garble(data, rng):
    """Drop keys and list elements, swap values for junk of another type, recursively."""
    if rng.random() < 0.25:
        return rng.choice(JUNK)
    if isinstance(data, dict):
        return {k: _garble(v, rng) for k, v in data.items() if rng.random() > 0.1}
    if isinstance(data, list):
        return [_garble(v, rng) for v in data if rng.random() > 0.1]
    return data


@contextlib.contextmanager
def _running_client(tmp_path, session_cls):
    """A sandbox and a Client logged into it, running, whose every HTTP request goes through
    ``session_cls`` (a requests Session subclass playing the man in the middle). Yields
    ``(sandbox, client, recorder)``; stops all three."""
    from relkit import Recorder, fast_config

    from openqq_sync.backends.smartqq import SmartQQBackend
    from openqq_sync.backends.smartqq.transport import Transport
    from openqq_sync.sandbox import SandboxServer

    srv = SandboxServer(world="small", seed=1, port=0, auto_scan=0.05, auto_confirm=0.05, poll_hold=1.0,
                        threads=16).start()
    config = fast_config(str(tmp_path), srv.url)
    client = Client(config, backend=SmartQQBackend(config, transport=Transport(config, session_factory=session_cls)))
    rec = Recorder(client)
    try:
        client.start()
        assert client.wait_for_state("running", 20)
        yield srv, client, rec
    finally:
        client.stop()
        rec.close()
        srv.stop()


def test_garbled_contact_answers_never_stop_the_client(tmp_path):
    """A man in the middle garbles the answers of one contact endpoint at a time (the sandbox
    answers, then the JSON is mutated on its way in) over 20 refreshes: each refresh either
    merges what it can or fails and is logged; the client stays running. Once the answers
    are clean again, a refresh restores exactly the world's contacts."""
    import random

    import requests as rq

    rng = random.Random(6)
    target = {"endpoint": None}

    class Garbling(rq.Session):
        def send(self, request, **kw):
            resp = super().send(request, **kw)
            endpoint = target["endpoint"]
            if endpoint and endpoint in request.url:
                try:
                    resp._content = json.dumps(_garble(json.loads(resp.content), rng)).encode()
                except ValueError:
                    pass
            return resp

    with _running_client(tmp_path, Garbling) as (_, client, _):
        want = client.contacts.counts()
        for n in range(2 * len(CONTACT_ENDPOINTS)):
            target["endpoint"] = CONTACT_ENDPOINTS[n % len(CONTACT_ENDPOINTS)]
            client.refresh_contacts(30)
            assert client.state == "running" and client.error is None, target
        target["endpoint"] = None
        assert client.refresh_contacts(30)
        assert client.contacts.counts() == want


def test_a_bogus_login_answer_during_a_relogin_is_retried(tmp_path):
    """The saved login is gone (relogin by QR code) and the service's "scanned and confirmed"
    answer carries an empty check_sig URL once: the relogin fails on it, retries with the
    backoff, and the next QR login brings the client back to running."""
    import requests as rq
    from relkit import friend_uid

    bogus = {"left": 0}

    class Rewriting(rq.Session):
        def send(self, request, **kw):
            resp = super().send(request, **kw)
            if "ptqrlogin" in request.url and b"ptuiCB('0'" in resp.content and bogus["left"]:
                bogus["left"] -= 1
                resp._content = "ptuiCB('0','0','','0','登录成功！', 'nick');".encode("utf-8")
            return resp

    with _running_client(tmp_path, Rewriting) as (srv, client, rec):
        bogus["left"] = 1
        assert srv.world.expire_session()
        rec.wait("relogin", timeout=20)
        assert client.wait_for_state("running", 20) and client.error is None
        assert bogus["left"] == 0
        srv.world.inject_message("friend_message", friend_uid(srv), "after bogus")
        rec.wait("receive_message", lambda kw: kw["msg"].content == "after bogus")


def test_garbled_contact_answers_during_a_relogin_never_stop_the_client(tmp_path):
    """After each session loss, the first answer of one contact endpoint in the new load is
    garbled: the load fails (or merges what it can), the relogin goes round again with the
    backoff, and the client ends up running with its contacts."""
    import random

    import requests as rq
    from relkit import friend_uid

    rng = random.Random(2)
    target = {"endpoint": None, "left": 0}

    class Garbling(rq.Session):
        def send(self, request, **kw):
            resp = super().send(request, **kw)
            if target["left"] and target["endpoint"] in request.url:
                target["left"] -= 1
                resp._content = json.dumps(_garble(json.loads(resp.content), rng)).encode()
            return resp

    with _running_client(tmp_path, Garbling) as (srv, client, rec):
        want = client.contacts.counts()
        for n, endpoint in enumerate(("get_user_friends2", "get_group_name_list_mask2", "get_discus_list",
                                      "get_group_list")):
            target.update(endpoint=endpoint, left=2)
            assert srv.world.wait_for_polls(1, 5)
            srv.world.add_fault("poll2", count=1, retcode=103)
            srv.world.inject_message("friend_message", friend_uid(srv), f"wake {n}")
            rec.wait("relogin", after=n, timeout=20)
            assert client.wait_for_state("running", 20) and client.error is None, endpoint
        assert client.refresh_contacts(30) and client.contacts.counts() == want
