"""Scenario 3: injected messages to post_api and to check_event, vs a bare poll2 loop."""

from __future__ import annotations

import http.client
import json
import threading
import time
from typing import List

from openqq_sync.errors import TransportError

from ._load import percentile
from ._procs import ApiServer, Sandbox, cpu_seconds
from ._raw import RawSession
from ._receiver import Receiver
from ._table import Row

RATE = 200  # messages per second


def _inject_all(sandbox: Sandbox, sender_uid, seconds: float) -> int:
    """Inject RATE msgs/s; each content is '<seq> <wall time>' so arrival gives the latency."""
    conn = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=10)
    total = int(RATE * seconds)
    start = time.perf_counter()
    for i in range(total):
        due = start + i / RATE
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        body = json.dumps({"type": "friend_message", "sender_uid": sender_uid,
                           "content": f"{i} {time.time():.6f}"})
        conn.request("POST", "/sandbox/message", body=body, headers={"Content-Type": "application/json"})
        conn.getresponse().read()
    conn.close()
    return total


def _stats(name: str, latencies: List[float], injected: int, floor_p99=None, dups: int = 0,
           cpu: float = float("nan")) -> List[Row]:
    latencies = sorted(latencies)
    p50, p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000
    mx = (latencies[-1] * 1000) if latencies else float("nan")
    lost = injected - (len(latencies) - dups)
    return [Row(f"events {name} p50", p50, "ms", None, "info"),
            Row(f"events {name} p99", p99, "ms", floor_p99, "<= 20 ms", p99 <= 20),
            Row(f"events {name} max", mx, "ms", None, "info"),
            Row(f"events {name} lost", lost, "", None, "0", lost == 0),
            Row(f"events {name} sent twice", dups, "", None, "0", dups == 0),
            Row(f"events {name} API CPU per message", cpu / max(1, injected) * 1000, "ms", None, "info")]


def _latency_of(content: str, arrived: float) -> float:
    return arrived - float(content.split()[1])


def _check_event_consumer(port: int, latencies: List[float], stop: threading.Event,
                          name: str) -> threading.Thread:
    """A started thread that follows ``check_event?since=`` on ``port`` and appends each
    received message's latency to ``latencies`` until ``stop``."""
    def consume() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        since = 0
        while not stop.is_set():
            try:
                conn.request("GET", f"/openqq/check_event?since={since}")
                items = json.loads(conn.getresponse().read())
            except (OSError, http.client.HTTPException):
                if stop.is_set():
                    return      # the API is shutting down at the end of the run
                raise
            now = time.time()
            for item in items or []:
                since = max(since, int(item.get("seq") or 0))
                if item.get("post_type") == "receive_message":
                    latencies.append(_latency_of(item["content"], now))
    consumer = threading.Thread(target=consume, name=name, daemon=True)
    consumer.start()
    return consumer



def _run_api(seconds: float, mode: str, friend_uid) -> tuple:
    sandbox = Sandbox(world="small")
    receiver = Receiver() if mode == "post_api" else None
    extra = ["--post-api", receiver.url, "--no-post-event"] if receiver else []
    api = None
    try:
        api = ApiServer(sandbox.url, extra=extra)
        friend_uid = sandbox.world()["friends"][0]["uid"]
        latencies: List[float] = []
        stop = threading.Event()
        if mode == "check_event":
            _check_event_consumer(api.port, latencies, stop, "bench-check-event")
        cpu0 = cpu_seconds(api.popen.pid)
        injected = _inject_all(sandbox, friend_uid, seconds)
        if receiver:
            receiver.wait_count(
                lambda posts: sum(p[1].get("post_type") == "receive_message" for p in posts) >= injected, 10)
            received = [(t, d) for t, d in receiver.posts if d.get("post_type") == "receive_message"]
            latencies = [_latency_of(d["content"], t) for t, d in received]
            return (latencies, injected, len(received) - len({d["seq"] for _, d in received}),
                    cpu_seconds(api.popen.pid) - cpu0)
        else:
            deadline = time.monotonic() + 10
            while len(latencies) < injected and time.monotonic() < deadline:
                time.sleep(0.05)
            stop.set()
        return latencies, injected, 0, cpu_seconds(api.popen.pid) - cpu0
    finally:
        if api:
            api.close()
        if receiver:
            receiver.close()
        sandbox.close()


def _run_floor(seconds: float) -> tuple:
    sandbox = Sandbox(world="small")
    try:
        raw = RawSession(sandbox.url)
        friend_uid = sandbox.world()["friends"][0]["uid"]
        latencies: List[float] = []
        stop = threading.Event()

        def loop() -> None:
            while not stop.is_set():
                try:
                    data = raw.poll(timeout=60)
                except TransportError:   # the sandbox closed under a held poll: the round is over
                    if stop.is_set():
                        return
                    raise
                now = time.time()
                for item in data.get("result") or []:
                    texts = [c for c in item.get("value", {}).get("content", [])[1:] if isinstance(c, str)]
                    if texts:
                        latencies.append(_latency_of("".join(texts), now))
        t = threading.Thread(target=loop, name="bench-raw-poll", daemon=True)
        t.start()
        injected = _inject_all(sandbox, friend_uid, seconds)
        deadline = time.monotonic() + 10
        while len(latencies) < injected and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        return latencies, injected
    finally:
        sandbox.close()


def run(full: bool) -> List[Row]:
    seconds = 20 if full else 5
    floor_lat, floor_n = _run_floor(seconds)
    floor_p99 = percentile(sorted(floor_lat), 0.99) * 1000
    rows = _stats("floor (bare poll2)", floor_lat, floor_n)[:-2]
    for r in rows:
        r.passed = None
        r.target = "info"
    for mode in ("post_api", "check_event"):
        lat, n, dups, cpu = _run_api(seconds, mode, None)
        rows += _stats(mode, lat, n, floor_p99, dups, cpu)
    return rows
