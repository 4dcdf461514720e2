"""Sandbox figures: large-world generation, the 2,000-member group's detail, poll2 latency.

Run:  .venv/bin/python bench/sandbox_bench.py [--seed N] [--runs N]

Prints a table. Targets (issue 2): the large world generates in under 2 s; the 2,000-member
group's ``get_group_info_ext2`` is served in under 50 ms over loopback; an injected message
leaves a held poll2 within 50 ms. A benchmark, not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from typing import Callable, Dict, List

import requests

from openqq_sync.sandbox import SandboxServer, generate
from openqq_sync.sandbox import _payloads as P

R_S = "https://s.web2.qq.com/proxy.html?v=20130916001&callback=1&id=1"
R_D = "http://d1.web2.qq.com/proxy.html?v=20151105001&callback=1&id=2"
R_QINFO = "http://qinfo.clt.qq.com/member.html"


def _bkn(skey: str) -> int:
    r = 5381
    for c in skey:
        r = (33 * r + ord(c)) & 0x7FFFFFFF
    return r


def timed(fn: Callable[[], object], runs: int) -> List[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000.0)
    return out


def row(name: str, ms: List[float], target: str) -> str:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    return "%-44s %9.1f %9.1f %9.1f %5d   %s" % (name, statistics.median(ms), p95, ms[-1], len(ms), target)


def main(argv: List[str] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args(argv)

    rows = []
    gen = timed(lambda: generate("large", args.seed), 3)
    rows.append(row("large world generation", gen, "< 2000 ms"))

    srv = SandboxServer(world="large", seed=args.seed, port=0, auto_scan=None, auto_confirm=None, poll_hold=30)
    srv.start()
    try:
        w = srv.world
        # Log in through the world's own steps (the HTTP login is covered by tests/sandbox).
        grant = w.complete_qr_login("bench")
        w.check_sig(w.new_check_sig(grant))
        sess = w.login2(grant, "", 53999199)
        http = requests.Session()
        http.trust_env = False
        cookies = "uin=o%010d; skey=%s" % (grant.qq, grant.skey)
        big = max(w.data.groups.values(), key=lambda g: len(g.members))
        code = grant.ids.to_id("code", big.number)
        url = "%s/api/get_group_info_ext2?gcode=%d&vfwebqq=%s&t=1" % (srv.url, code, grant.vfwebqq)
        headers = {"Host": "s.web2.qq.com", "Referer": R_S, "Cookie": cookies}

        def detail() -> None:
            r = http.get(url, headers=headers)
            assert r.status_code == 200 and r.content  # the whole body read, not parsed
        first = http.get(url, headers=headers)  # also warms up the connection
        assert len(first.json()["result"]["minfo"]) == len(big.members)
        size = len(first.content)
        rows.append(row("get_group_info_ext2, %d members (%d KB)" % (len(big.members), size // 1024),
                        timed(detail, args.runs), "< 50 ms"))

        def build() -> None:  # the server's own work for that answer: payload + JSON text
            json.dumps({"retcode": 0, "result": w.read(P.group_detail, grant, big.number)},
                       ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        rows.append(row("  of which: build + serialize in process", timed(build, args.runs), "-"))

        ext_headers = {"Host": "qinfo.clt.qq.com", "Referer": R_QINFO, "Cookie": cookies}
        form = {"gc": big.number, "u": grant.qq, "bkn": _bkn(grant.skey)}

        def ext() -> None:
            r = http.post(srv.url + "/cgi-bin/qun_info/get_group_members", data=form, headers=ext_headers)
            assert r.status_code == 200 and r.content
        assert http.post(srv.url + "/cgi-bin/qun_info/get_group_members", data=form,
                         headers=ext_headers).json()["ec"] == 0
        rows.append(row("ext get_group_members, %d members" % len(big.members), timed(ext, args.runs), "-"))

        # poll2: a held request, then an injection; latency = injection -> answer received.
        friend = next(iter(w.data.friends))
        body = {"r": json.dumps({"ptwebqq": "", "clientid": 53999199, "psessionid": sess.psessionid, "key": ""})}
        poll_headers = {"Host": "d1.web2.qq.com", "Referer": R_D}
        poll_http = requests.Session()
        poll_http.trust_env = False
        lat = []
        for i in range(args.runs):
            got = {}
            arrived = threading.Event()

            def poll(got: Dict[str, float], arrived: threading.Event) -> None:
                r = poll_http.post(srv.url + "/channel/poll2", data=body, headers=poll_headers, timeout=30)
                got["t"] = time.perf_counter()
                got["n"] = len(r.json().get("result", []))
                arrived.set()
            t = threading.Thread(target=poll, args=(got, arrived))
            t.start()
            w.wait_for_polls(1, timeout=10)
            time.sleep(0.005)  # let the request settle into its wait
            t0 = time.perf_counter()
            w.inject_message("friend_message", friend, "bench %d" % i)
            arrived.wait(10)
            t.join()
            lat.append((got["t"] - t0) * 1000.0)
        rows.append(row("poll2: injection -> answer", lat, "< 50 ms"))
    finally:
        srv.stop()

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print("sandbox benchmark (seed %d, %s, %d CPUs, load average %.1f)" % (args.seed, sys.platform,
                                                                         os.cpu_count() or 0, load))
    print("%-44s %9s %9s %9s %5s   %s" % ("measure (ms)", "median", "p95", "max", "runs", "target"))
    for r in rows:
        print(r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
