"""Scenario 2: API sends (send_interval 0) vs the same number of direct SmartQQ send calls.

The floor is a plain ``requests`` loop (one Session per thread) posting send_buddy_msg2 to
the sandbox, as the issue defines it; before, it went through the project's own Transport,
so every transport speed-up moved the floor as much as the API.
"""

from __future__ import annotations

import http.client
import threading
import time
import urllib.parse
from typing import Callable, List

from ._load import percentile
from ._procs import ApiServer, Sandbox, cpu_seconds
from ._raw import RawSession
from ._table import Row


def _api_sends(port: int, path: str, n: int, concurrency: int) -> tuple:
    latencies: List[float] = []
    failures: List[str] = []
    lock = threading.Lock()
    per = n // concurrency

    def worker(w: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        for i in range(per):
            q = urllib.parse.quote(f"压测 {w}-{i} [微笑]")
            t0 = time.perf_counter()
            conn.request("GET", f"{path}&content={q}")
            r = conn.getresponse()
            body = r.read()
            dt = time.perf_counter() - t0
            with lock:
                latencies.append(dt)
                if r.status != 200 or b'"code":0' not in body.replace(b" ", b""):
                    failures.append(body[:200].decode("utf-8", "replace"))
        conn.close()

    start = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(w,), name=f"bench-send-{w}") for w in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    latencies.sort()
    return len(latencies) / elapsed, percentile(latencies, 0.99) * 1000, failures


def _floor_sends(send: Callable[[list, int], dict], n: int, concurrency: int) -> float:
    """``n`` plain sends over ``concurrency`` threads; each carries the content the API's
    sends carry (text, a face, the font), so both sides ask the sandbox for the same work."""
    counter = iter(range(1, 10**9))
    lock = threading.Lock()
    per = n // concurrency

    def worker(w: int) -> None:
        for i in range(per):
            with lock:
                mid = 10000 + next(counter)
            answer = send([f"压测 {w}-{i} ", ["face", 14]], mid)
            if answer.get("retcode") not in (0, None) or answer.get("errCode") not in (0, None):
                raise RuntimeError(f"floor send refused: {answer}")

    start = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(w,), name=f"bench-floor-send-{w}")
               for w in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return n / (time.perf_counter() - start)


ROUNDS = 2


def run(full: bool) -> List[Row]:
    n = 800 if full else 160
    rows: List[Row] = []
    floor_box = Sandbox(world="small")
    sandbox = api = None
    try:
        from openqq_sync.backends.smartqq.contacts import fetch_friends, fetch_groups, fetch_user
        raw = RawSession(floor_box.url)
        friend_id = fetch_friends(raw.transport, raw.creds)[0]["id"]
        group_id = fetch_groups(raw.transport, raw.creds)[0]["id"]
        face = int(fetch_user(raw.transport, raw.creds).get("face") or 0)
        # Each route's floor is its own SmartQQ call, with the face the client would send
        # (the account's, else 570 / 591: Sender._face).
        floors = {"send_friend_message": lambda c, mid: raw.plain_send_friend(friend_id, c, mid, face or 570),
                  "send_group_message": lambda c, mid: raw.plain_send_group(group_id, c, mid, face or 591)}
        sandbox = Sandbox(world="small")
        api = ApiServer(sandbox.url)
        world = sandbox.world()
        targets = {"send_friend_message": f"/openqq/send_friend_message?uid={world['friends'][0]['uid']}",
                   "send_group_message": f"/openqq/send_group_message?uid={world['groups'][0]['uid']}"}
        for route, path in targets.items():
            for c in (1, 8):
                # Floor and API in alternating rounds, each side's rate over all its rounds: a
                # burst of other load on the machine then falls on both sides alike.
                part = n // ROUNDS
                floor_time = api_time = api_cpu = box_cpu = 0.0
                failures: List[str] = []
                p99s = []
                for _ in range(ROUNDS):
                    floor_time += part / _floor_sends(floors[route], part, c)
                    cpu0 = cpu_seconds(api.popen.pid), cpu_seconds(sandbox.popen.pid)
                    rps, p99, bad = _api_sends(api.port, path, part, c)
                    api_cpu += cpu_seconds(api.popen.pid) - cpu0[0]
                    box_cpu += cpu_seconds(sandbox.popen.pid) - cpu0[1]
                    api_time += part / rps
                    p99s.append(p99)
                    failures += bad
                floor_rate, rate = n / floor_time, n / api_time
                label = "sequential" if c == 1 else f"{c} concurrent"
                rows.append(Row(f"sends {route} {label}", rate, "sends/s", floor_rate, ">= 0.5 floor",
                                rate / floor_rate >= 0.5 and not failures))
                rows.append(Row(f"sends {route} {label} p99 (worst round)", max(p99s), "ms", None, "info"))
                # CPU per send is what a loaded machine does not blur: the API's own cost, and
                # the sandbox's (which the floor pays too) beside it.
                rows.append(Row(f"sends {route} {label} API CPU per send", api_cpu * 1000 / n, "ms",
                                None, "info"))
                rows.append(Row(f"sends {route} {label} sandbox CPU per send", box_cpu * 1000 / n, "ms",
                                None, "info"))
                if failures:
                    print(f"{route}: {len(failures)} failed sends, first: {failures[0]}")
    finally:
        if api:
            api.close()
        if sandbox:
            sandbox.close()
        floor_box.close()
    return rows
