"""Scenario: many accounts through ``openqq controller`` (issue 16).

``openqq sandbox --accounts N`` and ``openqq controller`` run as separate processes; the
controller starts N ``openqq run`` clients through ``/openqq/start_client``. Measured:

* start: every client ``running`` (check_client) within 120 s of the first start_client;
* idle memory: RSS (and PSS, which shares the pages common to several processes fairly) per
  client, summed, and the controller's own;
* a read through ``?client=`` against the same read straight to the client's port, p50;
* messages injected at 100/s spread over the N accounts, to post_api: p99 and lost.

100 accounts in both profiles (about a minute; the full one injects for 30 s instead of 10).
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from typing import Dict, List

from ._load import percentile
from ._procs import BIN, Proc, Sandbox, free_port
from ._receiver import Receiver
from ._table import Row

RATE = 100             # messages per second, over all accounts
READS = 1000           # sequential reads per side and round


def _proc_kb(pid: int, path: str, key: str) -> int:
    try:
        with open(f"/proc/{pid}/{path}") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Controller(Proc):
    def __init__(self, sandbox_url: str, post_api: str, max_clients: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.tmpdir = tempfile.mkdtemp(prefix="bench-controller-")
        super().__init__([os.path.join(BIN, "openqq"), "controller", "--port", str(self.port),
                          "--tmpdir", self.tmpdir, "--server", sandbox_url, "--post-api", post_api,
                          "--no-post-event", "--send-interval", "0", "--log-level", "warning",
                          "--qrcode-poll-interval", "0.2", "--max-clients", str(max_clients)], "controller")
        deadline = time.monotonic() + 60
        while True:
            try:
                self.get("check_client")
                break
            except OSError as e:
                if time.monotonic() > deadline or self.popen.poll() is not None:
                    raise RuntimeError("controller did not start:\n" + self.tail()) from e
                time.sleep(0.05)

    def get(self, route: str, **params: str) -> dict:
        url = f"{self.url}/openqq/{route}" + ("?" + urllib.parse.urlencode(params) if params else "")
        with urllib.request.urlopen(url, timeout=60) as r:
            return json.loads(r.read())

    # SIGTERM; the controller stops every client (SIGKILL after 10 s) before it exits.
    stop_grace = 60.0

    def close(self) -> None:
        super().close()
        shutil.rmtree(self.tmpdir, ignore_errors=True)


def _reads(host_port: int, path: str, headers: Dict[str, str], n: int) -> List[float]:
    conn = http.client.HTTPConnection("127.0.0.1", host_port, timeout=30)
    out = []
    for _ in range(n):
        t = time.perf_counter()
        conn.request("GET", path, headers=headers)
        r = conn.getresponse()
        r.read()
        out.append(time.perf_counter() - t)
        assert r.status == 200, r.status
    conn.close()
    return out


def _inject(sandbox: Sandbox, targets: List[tuple], seconds: float) -> int:
    """RATE msgs/s round-robin over the accounts; content '<seq> <wall time>'."""
    conn = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=10)
    total = int(RATE * seconds)
    start = time.perf_counter()
    for i in range(total):
        delay = start + i / RATE - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        index, uid = targets[i % len(targets)]
        body = json.dumps({"type": "friend_message", "sender_uid": uid, "content": f"{i} {time.time():.6f}"})
        conn.request("POST", f"/sandbox/accounts/{index}/message", body=body,
                     headers={"Content-Type": "application/json"})
        conn.getresponse().read()
    conn.close()
    return total


def run(full: bool) -> List[Row]:
    n = 100
    seconds = 30 if full else 10
    rows: List[Row] = []
    sandbox = Sandbox(world="small", extra=["--accounts", str(n)])
    receiver = Receiver()
    ctl = None
    try:
        ctl = Controller(sandbox.url, receiver.url, n)
        names = [f"bench{i:03d}" for i in range(1, n + 1)]
        t0 = time.monotonic()
        for name in names:
            got = ctl.get("start_client", client=name)
            assert got["code"] == 0, got
        running: Dict[str, dict] = {}
        while len(running) < n and time.monotonic() - t0 < 300:
            for c in ctl.get("check_client")["client"]:
                if c["state"] == "running":
                    running[c["account"]] = c
            time.sleep(0.25)
        start_s = time.monotonic() - t0
        rows.append(Row(f"controller {n} clients started to running ({len(running)}/{n})", start_s, "s", None,
                        "<= 120 s", len(running) == n and start_s <= 120))
        if len(running) < n:
            return rows
        # Idle: let the logins' garbage settle, then measure every process.
        time.sleep(10)
        pids = [c["pid"] for c in running.values()]
        rss = [_proc_kb(p, "status", "VmRSS:") for p in pids]
        pss = [_proc_kb(p, "smaps_rollup", "Pss:") for p in pids]
        threads = [_proc_kb(p, "status", "Threads:") for p in pids]
        per = sum(rss) / len(rss) / 1024
        rows.append(Row(f"controller idle RSS per client (mean of {n})", per, "MB", None, "<= 40 MB", per <= 40))
        rows.append(Row("controller idle RSS per client (max)", max(rss) / 1024, "MB", None, "info"))
        rows.append(Row("controller idle PSS per client (mean)", sum(pss) / len(pss) / 1024, "MB", None, "info"))
        anon = [_proc_kb(p, "status", "RssAnon:") for p in pids]
        rows.append(Row("controller idle RSS per client: anonymous (the rest is mapped files)",
                        sum(anon) / len(anon) / 1024, "MB", None, "info"))
        rows.append(Row(f"controller idle RSS, {n} clients total", sum(rss) / 1024, "MB", None, "info"))
        rows.append(Row("controller idle RSS, the controller itself", ctl.rss_kb() / 1024, "MB", None, "info"))
        rows.append(Row("controller threads per client", sum(threads) / len(threads), "", None, "info"))
        # A read through the controller against the same read direct (the client's token
        # from the controller's backend file).
        with open(os.path.join(ctl.tmpdir, "mojo_webqq_controller_backend.dat"), encoding="utf-8") as f:
            backend = json.load(f)["clients"]
        name = names[0]
        direct_headers = {"Authorization": "Bearer " + backend[name]["token"]}
        via, direct = [], []
        for _ in range(3 if full else 2):     # alternate, so both sides meet the same noise
            via += _reads(ctl.port, f"/openqq/get_user_info?client={name}", {}, READS)
            direct += _reads(running[name]["port"], "/openqq/get_user_info", direct_headers, READS)
        via.sort()
        direct.sort()
        p50_via, p50_direct = percentile(via, 0.5) * 1000, percentile(direct, 0.5) * 1000
        rows.append(Row("controller read via ?client= p50", p50_via, "ms", p50_direct, "info"))
        rows.append(Row("controller read ?client= extra p50", p50_via - p50_direct, "ms", None, "<= 2 ms",
                        p50_via - p50_direct <= 2))
        rows.append(Row("controller read via ?client= p99", percentile(via, 0.99) * 1000, "ms",
                        percentile(direct, 0.99) * 1000, "info"))
        # Messages over every account to post_api.
        targets = []
        for i in range(1, n + 1):
            with urllib.request.urlopen(f"{sandbox.url}/sandbox/accounts/{i}/world", timeout=60) as r:
                targets.append((i, json.loads(r.read())["friends"][0]["uid"]))
        base = len(receiver.posts)
        injected = _inject(sandbox, targets, seconds)
        receiver.wait_count(lambda posts: len(posts) - base >= injected, 30)
        with receiver.cond:
            got = [(t, d) for t, d in receiver.posts[base:] if d.get("post_type") == "receive_message"]
        latencies = sorted(t - float(d["content"].split()[1]) for t, d in got)
        lost = injected - len({d["content"].split()[0] for _, d in got})
        p99 = percentile(latencies, 0.99) * 1000
        rows.append(Row(f"controller {RATE} msg/s over {n} clients to post_api p50",
                        percentile(latencies, 0.5) * 1000, "ms", None, "info"))
        rows.append(Row(f"controller {RATE} msg/s over {n} clients to post_api p99", p99, "ms", None, "<= 50 ms",
                        p99 <= 50))
        rows.append(Row(f"controller {RATE} msg/s over {n} clients lost", lost, "", None, "0", lost == 0))
        # Stopping the controller stops every client.
        t = time.monotonic()
        ctl.close()
        alive = [p for p in pids if os.path.exists(f"/proc/{p}") and not _zombie(p)]
        rows.append(Row("controller stop, clients left running", len(alive), "", None, "0", not alive))
        rows.append(Row("controller stop time", time.monotonic() - t, "s", None, "info"))
        ctl = None
        return rows
    finally:
        if ctl is not None:
            ctl.close()
        receiver.close()
        sandbox.close()


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


if __name__ == "__main__":   # python -m bench.controller [--full]
    from ._procs import compile_package
    from ._table import render
    compile_package()
    print(render(run("--full" in sys.argv)))
