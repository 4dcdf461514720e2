"""Scenario 4: 500 concurrent check_event clients while another calls get_user_info 20/s.

Each waiter holds a worker thread, up to the API's cap (``max_event_waiters``, default 100);
the clients past the cap are answered at once with ``[]``, as a timeout would. Held waiters
follow with ``check_event?since=<newest seq>``, so the one injected event wakes every one of
them (a plain check_event hands each event to a single waiter); a few plain waiters go first:
one of them gets the event, the others time out with ``[]``.

The waiters are held by ``bench._waiters``, one process with a selector loop, so that the
wake time is the server's rather than a queue of 505 client threads in this process.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import time
from typing import List

from ._load import percentile
from ._procs import ApiServer, Sandbox
from ._table import Row

WAITERS = 500
PLAIN_WAITERS = 5


def run(full: bool) -> List[Row]:
    sandbox = Sandbox(world="small")
    api = waiters = None
    try:
        calls_seconds = 20 if full else 5
        # Every waiter must still be held when the event comes; the plain waiters that do not
        # get it return [] at this timeout, which ends the run.
        hold = calls_seconds + 8
        # The default pool and cap (threads 132, max_event_waiters 100).
        api = ApiServer(sandbox.url, extra=["--check-event-timeout", str(hold)])
        friend_uid = sandbox.world()["friends"][0]["uid"]
        conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=30)
        conn.request("GET", "/openqq/check_event?since=0")
        since = max([int(e.get("seq") or 0) for e in json.loads(conn.getresponse().read() or b"[]")] + [0])
        conn.close()
        since_path = f"/openqq/check_event?since={since}"
        waiters = subprocess.Popen(
            [sys.executable, "-m", "bench._waiters", str(api.port), f"/openqq/check_event:{PLAIN_WAITERS}",
             f"{since_path}:{WAITERS}"], stdout=subprocess.PIPE, text=True)
        if waiters.stdout.readline().strip() != "ready":
            raise RuntimeError("the waiters process failed to start")
        time.sleep(1.0)  # let the requests reach the server and park

        failures: List[str] = []
        latencies: List[float] = []
        conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=30)
        for _ in range(calls_seconds * 20):
            t0 = time.perf_counter()
            conn.request("GET", "/openqq/get_user_info")
            r = conn.getresponse()
            r.read()
            latencies.append(time.perf_counter() - t0)
            if r.status != 200:
                failures.append(f"get_user_info {r.status}")
            time.sleep(max(0.0, 0.05 - (time.perf_counter() - t0)))
        conn.close()

        injected = time.monotonic()
        sandbox.inject(type="friend_message", sender_uid=friend_uid, content="wake up")
        out, _ = waiters.communicate(timeout=hold + 60)
        results = json.loads(out.strip().splitlines()[-1])
        wakes, plain_woke, plain_held, at_once = [], 0, 0, 0
        for path, status, arrived, nonempty in results:
            if status != 200:
                failures.append(f"check_event {status or 'closed'}")
            elif arrived < injected:
                if nonempty:
                    failures.append("a waiter returned an item before the event")
                else:
                    at_once += 1                   # past the cap: answered at once
            elif path == since_path:
                if nonempty:
                    wakes.append(arrived - injected)
                else:
                    failures.append("a held since-waiter was not woken by the event")
            else:
                plain_held += 1
                plain_woke += nonempty
        failures += ["a waiter got no answer"] * (WAITERS + PLAIN_WAITERS - len(results))
        wakes.sort()
        latencies.sort()
        p99 = percentile(latencies, 0.99) * 1000
        wake_p99 = percentile(wakes, 0.99) * 1000 if wakes else float("nan")
        clients = WAITERS + PLAIN_WAITERS
        return [
            Row(f"longpoll get_user_info p99 ({clients} check_event clients)", p99, "ms", None, "<= 50 ms",
                p99 <= 50),
            Row("longpoll check_event held (under the cap)", len(wakes) + plain_held, "", None, "info"),
            Row("longpoll check_event answered at once (past the cap)", at_once, "", None, "info"),
            Row(f"longpoll held since-waiter wake p50 ({len(wakes)} woke)",
                percentile(wakes, 0.5) * 1000 if wakes else float("nan"), "ms", None, "info"),
            Row(f"longpoll held since-waiter wake p99 ({len(wakes)} woke)", wake_p99, "ms", None,
                "<= 50 ms", bool(wakes) and wake_p99 <= 50),
            Row(f"longpoll plain waiters woken ({plain_held} held)", plain_woke, "", None,
                "1" if plain_held else "info", plain_woke == 1 if plain_held else None),
            Row("longpoll failed requests", len(failures), "", None, "0", not failures),
        ]
    finally:
        if waiters is not None and waiters.poll() is None:
            waiters.kill()
            waiters.wait()
        if api:
            api.close()
        sandbox.close()
