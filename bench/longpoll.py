"""Scenario 4: 500 concurrent check_event waiters while a client calls get_user_info 20/s.

The waiters follow with ``check_event?since=<newest seq>``, so the one injected event wakes
every one of them (a plain check_event hands each event to a single waiter); a few plain
waiters ride along: one of them gets the event, the others time out with ``[]``.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from typing import List

from openqq_sync.delivery.hub import max_waiters_for

from ._load import percentile
from ._procs import ApiServer, Sandbox
from ._table import Row

WAITERS = 500
PLAIN_WAITERS = 5


def run(full: bool) -> List[Row]:
    sandbox = Sandbox(world="small")
    api = None
    try:
        total = WAITERS + PLAIN_WAITERS
        calls_seconds = 20 if full else 5
        # Every waiter must still be held when the event comes; the plain waiters that do not
        # get it return [] at this timeout, which ends the run.
        hold = calls_seconds + 8
        # The server holds at most max_waiters_for(threads) waiters (a fifth of the pool stays
        # free for other calls) and answers the rest at once: size the pool for all of them.
        threads = next(t for t in range(total, 4 * total) if max_waiters_for(t) >= total)
        api = ApiServer(sandbox.url, extra=["--threads", str(threads),
                                            "--check-event-timeout", str(hold)])
        friend_uid = sandbox.world()["friends"][0]["uid"]
        conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=30)
        conn.request("GET", "/openqq/check_event?since=0")
        since = max([int(e.get("seq") or 0) for e in json.loads(conn.getresponse().read() or b"[]")] + [0])
        conn.close()
        injected_at: List[float] = []
        woke: List[float] = []
        plain_woke: List[float] = []
        failures: List[str] = []
        lock = threading.Lock()
        connected = threading.Semaphore(0)

        def waiter(path: str, into: List[float]) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=90)
            try:
                conn.connect()
                connected.release()
                conn.request("GET", path)
                r = conn.getresponse()
                body = r.read()
                arrived = time.perf_counter()
                with lock:
                    if not injected_at:
                        failures.append("a waiter returned before the event")
                    elif r.status != 200:
                        failures.append(f"check_event {r.status}")
                    elif body.strip() not in (b"[]", b""):
                        into.append(arrived)
            except OSError as e:
                with lock:
                    failures.append(repr(e))
            finally:
                conn.close()

        threads = [threading.Thread(target=waiter, name=f"waiter-{i}",
                                    args=(f"/openqq/check_event?since={since}", woke)) for i in range(WAITERS)]
        threads += [threading.Thread(target=waiter, name=f"plain-waiter-{i}",
                                     args=("/openqq/check_event", plain_woke)) for i in range(PLAIN_WAITERS)]
        for t in threads:
            t.start()
        for _ in threads:
            connected.acquire()
        time.sleep(1.0)  # let the requests reach the server and park on the Condition

        latencies: List[float] = []
        conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=30)
        calls = calls_seconds * 20
        for i in range(calls):
            t0 = time.perf_counter()
            conn.request("GET", "/openqq/get_user_info")
            r = conn.getresponse()
            r.read()
            latencies.append(time.perf_counter() - t0)
            if r.status != 200:
                failures.append(f"get_user_info {r.status}")
            time.sleep(max(0.0, 0.05 - (time.perf_counter() - t0)))
        conn.close()

        injected = time.perf_counter()
        with lock:
            injected_at.append(injected)
        sandbox.inject(type="friend_message", sender_uid=friend_uid, content="wake up")
        for t in threads:
            t.join(90)
        wakes = sorted(w - injected for w in woke)
        latencies.sort()
        p99 = percentile(latencies, 0.99) * 1000
        wake_p99 = percentile(wakes, 0.99) * 1000 if wakes else float("nan")
        return [
            Row(f"longpoll get_user_info p99 ({WAITERS} waiters)", p99, "ms", None, "<= 50 ms", p99 <= 50),
            Row(f"longpoll since-waiter wake p99 ({len(wakes)}/{WAITERS} woke)", wake_p99, "ms", None,
                "<= 50 ms", len(wakes) == WAITERS and wake_p99 <= 50),
            Row(f"longpoll plain waiters woken ({PLAIN_WAITERS} held)", len(plain_woke), "", None, "1",
                len(plain_woke) == 1),
            Row("longpoll failed requests", len(failures), "", None, "0", not failures),
        ]
    finally:
        if api:
            api.close()
        sandbox.close()
