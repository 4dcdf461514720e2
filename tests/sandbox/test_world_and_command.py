"""The world generator (small and large), the chatter and the ``openqq sandbox`` command."""

from __future__ import annotations

import threading

import pytest
import requests

from openqq_sync.cli import build_parser
from openqq_sync.sandbox import SandboxServer, SandboxWorld, command, generate
from openqq_sync.sandbox._ids import IdSpace


def test_small_world_shape():
    d = generate("small", 7)
    assert len(d.friends) == 20 and len(set(f.category for f in d.friends.values())) == 3
    assert sorted(len(g.members) for g in d.groups.values()) == [5, 12, 20, 35, 50]
    assert len(d.discusses) == 2
    roles = [g.members[d.account.qq].role for g in d.groups.values()]
    assert "owner" in roles and "admin" in roles and "member" in roles
    names = [f.nick for f in d.friends.values()] + [m.nick for g in d.groups.values() for m in g.members.values()]
    assert not any("'" in n for n in names)
    assert generate("small", 7).account.qq == d.account.qq
    assert generate("small", 8).account.qq != d.account.qq


def test_large_world_shape():
    d = generate("large", 1)
    sizes = [len(g.members) for g in d.groups.values()]
    assert len(d.friends) == 2000 and len(d.groups) == 200 and len(d.discusses) == 100
    assert sum(sizes) == 100_000 and max(sizes) == 2000 and min(sizes) >= 10
    assert all(d.account.qq in g.members for g in d.groups.values())
    assert [dc.key for dc in d.discusses.values()][:3] == ["d1", "d2", "d3"]


def test_large_world_serves_the_big_group():
    w = SandboxWorld("large", 1)
    g = w.complete_qr_login("x")
    from openqq_sync.sandbox import _payloads as P
    big = max(w.data.groups.values(), key=lambda grp: len(grp.members))
    detail = w.read(P.group_detail, g, big.number)
    assert len(detail["minfo"]) == 2000
    assert len(w.read(P.ext_members, g, big.number)["mems"]) == 2000


def test_ids_are_a_permutation():
    import random

    ids = IdSpace(random.Random(3))
    for n in (10_000, 123_456_789, 2 ** 31 - 1, 0):
        i = ids.to_id("person", n)
        assert i >= 2 ** 31 and ids.from_id("person", i) == n
    assert ids.from_id("person", 5) is None and ids.from_id("gid", "x") is None


def test_chatter_thread_injects_and_stops():
    srv = SandboxServer(port=0, chatter=0.0).start()
    try:
        grant = srv.world.complete_qr_login("x")
        srv.world.check_sig(srv.world.new_check_sig(grant))
        s = srv.world.login2(grant, "", 53999199)
        srv.world.set_chatter(3000)
        items = srv.world.poll(s, hold=5)
        assert items and items[0]["value"]["content"][0][0] == "font"
    finally:
        srv.stop()
    assert not [t for t in threading.enumerate() if t.name == "openqq-sandbox-chatter"]


def test_command_parses_every_option():
    args = build_parser().parse_args(["sandbox", "--host", "127.0.0.1", "--port", "0", "--world", "large",
                                      "--seed", "5", "--manual-scan", "--chatter", "30", "--poll-hold", "3"])
    assert (args.world, args.seed, args.manual_scan, args.chatter, args.poll_hold) == ("large", 5, True, 30.0, 3.0)
    args = build_parser().parse_args(["sandbox", "--auto-scan", "0.5"])
    assert args.auto_scan == 0.5 and not args.manual_scan and args.port == 9000
    with pytest.raises(SystemExit):
        build_parser().parse_args(["sandbox", "--auto-scan", "1", "--manual-scan"])
    with pytest.raises(SystemExit):
        build_parser().parse_args(["sandbox", "--world", "huge"])


def test_command_serves_until_interrupted(capsys):
    args = build_parser().parse_args(["sandbox", "--port", "0", "--seed", "3", "--manual-scan", "--poll-hold", "1"])
    seen = {}

    def serve(srv):
        seen["status"] = requests.get(srv.url + "/sandbox/status").json()
        raise KeyboardInterrupt
    assert command.run(args, _serve=serve) == 0
    assert seen["status"]["auto_scan"] is None and seen["status"]["seed"] == 3
    assert "SmartQQ sandbox on http://127.0.0.1:" in capsys.readouterr().out
