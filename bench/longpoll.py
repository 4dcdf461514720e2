"""Scenario 4: 500 concurrent check_event waiters while a client calls get_user_info 20/s."""

from __future__ import annotations

import http.client
import threading
import time
from typing import List

from ._load import percentile
from ._procs import ApiServer, Sandbox
from ._table import Row

WAITERS = 500


def run(full: bool) -> List[Row]:
    sandbox = Sandbox(world="small")
    api = None
    try:
        api = ApiServer(sandbox.url, extra=["--threads", str(WAITERS + 40), "--check-event-timeout", "60"])
        friend_uid = sandbox.world()["friends"][0]["uid"]
        woke: List[float] = []
        failures: List[str] = []
        lock = threading.Lock()
        connected = threading.Semaphore(0)

        def waiter() -> None:
            conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=90)
            try:
                conn.connect()
                connected.release()
                conn.request("GET", "/openqq/check_event")
                r = conn.getresponse()
                body = r.read()
                with lock:
                    if r.status != 200:
                        failures.append(f"check_event {r.status}")
                    elif body.strip() not in (b"[]", b""):
                        woke.append(time.perf_counter())
            except OSError as e:
                with lock:
                    failures.append(repr(e))
            finally:
                conn.close()

        threads = [threading.Thread(target=waiter, name=f"waiter-{i}") for i in range(WAITERS)]
        for t in threads:
            t.start()
        for _ in threads:
            connected.acquire()
        time.sleep(1.0)  # let the requests reach the server and park on the Condition

        latencies: List[float] = []
        conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=30)
        calls = int((20 if full else 5) * 20)
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
        sandbox.inject(type="friend_message", sender_uid=friend_uid, content="wake up")
        for t in threads:
            t.join(90)
        wakes = sorted(w - injected for w in woke)
        latencies.sort()
        p99 = percentile(latencies, 0.99) * 1000
        wake_p99 = percentile(wakes, 0.99) * 1000 if wakes else float("nan")
        return [
            Row(f"longpoll get_user_info p99 ({WAITERS} waiters)", p99, "ms", None, "<= 50 ms", p99 <= 50),
            Row(f"longpoll waiter wake p99 ({len(wakes)} woke)", wake_p99, "ms", None, "<= 50 ms",
                bool(wakes) and wake_p99 <= 50),
            Row("longpoll failed requests", len(failures), "", None, "0", not failures),
        ]
    finally:
        if api:
            api.close()
        sandbox.close()
