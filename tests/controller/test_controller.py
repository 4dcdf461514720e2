"""What the original's Controller-API.md shows, done against ``openqq controller`` over real
HTTP: start two clients, check them, read and send with ``client=``, receive their reports,
stop one; then what supervision promises: a killed client comes back, a controller that dies
leaves its clients running and the next one takes them back, a stopped controller stops them.

Tests run in file order on one controller (module fixture); each leaves it as it found it.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import urllib.parse

import pytest
import requests
from ctlkit import TOKEN, Controller, children_of

from openqq_sync.controller.state import Files
from openqq_sync.sandbox.accounts import MultiSandbox


@pytest.fixture(scope="module")
def ctl(tmp_path_factory, sandbox2, receiver):
    tmp = str(tmp_path_factory.mktemp("controller"))
    args = ("--server", sandbox2.url, "--qrcode-poll-interval", "0.2", "--post-api", receiver.url,
            "--send-interval", "0", "--max-clients", "3", "--poll-api", receiver.url + "?heartbeat=1",
            "--poll-interval", "0.3")
    c = Controller(tmp, *args, env={"OPENQQ_TOKEN": TOKEN})
    box = {"c": c, "args": args}
    # Account 2 is reserved for client "alice" (the sandbox's convention), "bob" gets account 1.
    assert requests.post(sandbox2.url + "/sandbox/accounts/2/next", timeout=5).json()["next"] \
        == sandbox2.worlds[1].data.account.qq
    # The reservation is for the next QR code shown: bob starts once alice has hers.
    started = {"alice": c.get("start_client", client="alice").json()}
    c.wait_state("alice", "running")
    started["bob"] = c.get("start_client", client="bob").json()
    box["started"] = started
    try:
        yield box
    finally:
        box["c"].close()
        leftover = children_of(tmp)
        for pid in leftover:
            os.kill(pid, signal.SIGKILL)
        assert not leftover, "clients outlived their controller"


def qq_of(sandbox, index: int) -> int:
    return sandbox.worlds[index].data.account.qq


def test_start_client_answers_as_the_original(ctl):
    c = ctl["c"]
    for name, got in ctl["started"].items():
        assert got["code"] == 0 and got["status"] == "success", got
        assert got["client"] == name and got["account"] == name
        assert got["pid"] > 0 and 0 < got["port"] < 65536
    again = c.get("start_client", client="alice").json()
    assert again["code"] == 0 and again["status"] == "client already exists"
    assert again["pid"] == ctl["started"]["alice"]["pid"]
    assert c.get("start_client").json() == {"code": 1, "status": "client not found"}
    bad = c.get("start_client", client="carol", send_interval="soon").json()
    assert bad["code"] == 3 and bad["status"] == "failure" and "send_interval" in bad["reason"]
    assert c.get("start_client", client="../etc").json()["status"] == "client name invalid"
    bad = c.get("start_client", client="carol", post_api="ftp://nowhere").json()
    assert bad["code"] == 3 and "post_api" in bad["reason"]
    assert c.get("check_client", client="carol").json()["status"] == "client not exists"


def test_check_client_holds_the_state_files_and_ports(ctl, sandbox2):
    c = ctl["c"]
    alice = c.wait_state("alice", "running")
    c.wait_state("bob", "running")
    assert alice["port"] == ctl["started"]["alice"]["port"]
    assert alice["pid"] == ctl["started"]["alice"]["pid"]
    assert alice["state_path"].endswith("mojo_webqq_state_alice.json")
    with open(alice["state_path"], encoding="utf-8") as fh:
        on_disk = json.load(fh)
    assert on_disk["state"] == "running" and on_disk["account"] == "alice"
    every = c.get("check_client").json()
    assert every["code"] == 0 and sorted(x["account"] for x in every["client"]) == ["alice", "bob"]
    assert c.get("check_client", client="nobody").json() == {"code": 1, "status": "client not exists"}


def test_reads_reach_the_named_client(ctl, sandbox2):
    c = ctl["c"]
    alice = c.get("get_user_info", client="alice").json()
    bob = c.get("get_user_info", client="bob").json()
    assert alice["id"] == qq_of(sandbox2, 1)          # the reserved account
    assert bob["id"] == qq_of(sandbox2, 0)
    # JSONP passes through; the client answers it.
    r = c.get("get_user_info", client="bob", datatype="jsonp", callback="cb")
    assert r.text.startswith("cb(") and json.loads(r.text[3:-1])["id"] == bob["id"]
    # The token may also come as access_token; it is not passed on.
    r = c.get("get_friend_info", token=None, client="alice", access_token=TOKEN)
    assert r.status_code == 200 and isinstance(r.json(), list) and r.json()


def test_sends_by_query_form_and_json(ctl, sandbox2):
    c = ctl["c"]
    world = sandbox2.worlds[1]
    fid = c.get("get_friend_info", client="alice").json()[0]["id"]
    got = [c.get("send_friend_message", client="alice", id=fid, content="查询 1").json(),
           c.post("send_friend_message", data={"client": "alice", "id": fid, "content": "表单 2"}).json(),
           c.post("send_friend_message", json={"client": "alice", "id": fid, "content": "JSON 3"}).json()]
    assert [g["code"] for g in got] == [0, 0, 0], got
    assert [s["content"] for s in world.sent][-3:] == ["查询 1", "表单 2", "JSON 3"]
    assert not sandbox2.worlds[0].sent              # bob's account sent nothing


def test_reports_carry_the_client_name_and_qq(ctl, sandbox2, receiver):
    world = sandbox2.worlds[0]                        # bob's account
    uid = next(iter(world.data.friends))
    world.inject_message("friend_message", uid, "给 bob 的消息")

    def arrived(reqs):
        return [r for r in reqs if r.method == "POST" and b"\xe7\xbb\x99 bob" in r.body]
    req = arrived(receiver.wait_for(lambda reqs: bool(arrived(reqs)), timeout=15))[0]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(req.path).query)
    assert query["client"] == ["bob"]
    headers = {k.lower(): v for k, v in req.headers.items()}
    assert headers["x-self-id"] == str(qq_of(sandbox2, 0))
    assert req.json()["content"] == "给 bob 的消息"


def test_check_event_long_polls_through_the_controller(ctl, sandbox2):
    c = ctl["c"]
    world = sandbox2.worlds[1]                        # alice's account
    retained = c.get("check_event", client="alice", since=0).json()
    last = max([item["seq"] for item in retained] or [0])
    box = {}
    poller = threading.Thread(target=lambda: box.update(r=c.get("check_event", client="alice", since=last)),
                              name="test-check-event")
    poller.start()
    world.inject_message("friend_message", next(iter(world.data.friends)), "长轮询 via controller")
    poller.join(20)
    assert not poller.is_alive()
    assert box["r"].status_code == 200
    assert [i["content"] for i in box["r"].json() if i.get("post_type") == "receive_message"] \
        == ["长轮询 via controller"]


def test_controller_heartbeat_and_max_clients(ctl, receiver):
    beats = receiver.wait_for(lambda reqs: sum(r.method == "GET" and "heartbeat=1" in r.path for r in reqs) >= 2,
                              timeout=10)
    assert all("client=" not in r.path for r in beats if r.method == "GET")   # the controller's own
    c = ctl["c"]
    assert c.get("start_client", client="carol").json()["status"] == "success"
    assert c.get("start_client", client="dave").json() == {"code": 5, "status": "max clients exceed"}
    assert c.get("stop_client", client="carol").json()["status"] == "success"


def test_get_qrcode_while_scanning_with_a_per_client_server(ctl):
    c = ctl["c"]
    with MultiSandbox(1, seed=21, port=0, auto_scan=None, auto_confirm=None) as manual:
        got = c.get("start_client", client="qr", server=manual.url, qrcode_poll_interval="0.2").json()
        assert got["status"] == "success" and got["server"] == manual.url
        c.wait_state("qr", "scaning")
        r = c.get("get_qrcode", client="qr")
        assert r.status_code == 200 and r.headers["Content-Type"] == "image/png"
        assert r.headers["Cache-Control"] == "no-cache" and r.content.startswith(b"\x89PNG")
        assert c.get("stop_client", client="qr").json()["status"] == "success"


def test_token_is_checked_once_at_the_controller(ctl):
    c = ctl["c"]
    r = c.get("get_user_info", token=None, client="alice")
    assert r.status_code == 401 and r.json() == {"code": -6, "status": "auth failure"}
    assert c.get("check_client", token="wrong").status_code == 401
    # A CORS preflight needs no token: the client answers it.
    pre = c.http.options(c.url + "/openqq/get_user_info?client=alice", timeout=5,
                         headers={"Origin": "http://example.test", "Access-Control-Request-Method": "GET"})
    assert pre.status_code < 300 and pre.headers.get("Access-Control-Allow-Origin")
    # The client itself listens on loopback with a token only the controller knows.
    port = ctl["started"]["alice"]["port"]
    direct = requests.get(f"http://127.0.0.1:{port}/openqq/get_user_info", timeout=5)
    assert direct.status_code == 401


def test_errors_as_the_original(ctl):
    c = ctl["c"]
    assert c.get("get_user_info").json() == {"code": 1, "status": "client not found"}
    assert c.get("get_user_info", client="zed").json() == {"code": 1, "status": "client not exists"}
    r = c.http.get(c.url + "/nothing/here", headers={"Authorization": f"Bearer {TOKEN}".encode()}, timeout=5)
    assert r.status_code == 403 and r.json() == {"code": -1, "status": "api not found"}
    assert c.get("get_qrcode").json() == {"code": 1, "status": "client not found"}
    assert c.get("get_qrcode", client="alice").status_code == 404     # logged in: no QR file
    assert c.get("stop_client", client="zed").json() == {"code": 1, "status": "client not exists"}


def test_a_killed_client_is_started_again(ctl, sandbox2):
    c = ctl["c"]
    old = ctl["started"]["bob"]["pid"]
    os.kill(old, signal.SIGKILL)
    assert c.wait_state("bob", "stop", timeout=5)["pid"] == old     # seen dead, not "running"
    back = c.wait_state("bob", "running", timeout=25, old_pid=old)
    assert back["pid"] != old
    assert c.get("get_user_info", client="bob").json()["id"] == qq_of(sandbox2, 0)   # same account
    ctl["started"]["bob"] = back


def test_stop_client(ctl):
    c = ctl["c"]
    pid = ctl["started"]["bob"]["pid"]
    got = c.get("stop_client", client="bob").json()
    assert got["code"] == 0 and got["status"] == "success" and got["client"] == "bob" and got["pid"] == pid
    assert pid not in children_of(c.tmpdir)
    assert c.get("check_client", client="bob").json()["status"] == "client not exists"
    assert c.get("get_user_info", client="bob").json()["status"] == "client not exists"


def test_a_new_controller_takes_the_clients_back(ctl, sandbox2):
    c = ctl["c"]
    alive = children_of(c.tmpdir)
    assert alive == [ctl["started"]["alice"]["pid"]]
    c.signal(signal.SIGKILL)                          # dies without stopping anything
    assert children_of(c.tmpdir) == alive
    c2 = Controller(c.tmpdir, env={"OPENQQ_TOKEN": TOKEN})
    ctl["c"] = c2
    assert c2.states() == {"alice": "running"}
    assert c2.get("check_client", client="alice").json()["client"][0]["pid"] == alive[0]
    assert c2.get("get_user_info", client="alice").status_code == 200
    # A stopped controller stops its clients and keeps the list for the next one.
    assert c2.signal(signal.SIGTERM) == 0
    assert children_of(c.tmpdir) == []
    assert list(Files(c.tmpdir).load_backend()) == ["alice"]
    # ... and the next one starts them again.
    c3 = Controller(c.tmpdir, *ctl["args"], env={"OPENQQ_TOKEN": TOKEN})   # the same command line
    ctl["c"] = c3
    again = c3.wait_state("alice", "running", old_pid=alive[0])
    assert children_of(c.tmpdir) == [again["pid"]]
    assert c3.get("get_user_info", client="alice").json()["id"] == qq_of(sandbox2, 1)
