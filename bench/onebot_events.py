"""Scenario: world events to one forward-WebSocket OneBot client at 1,000 msg/s, vs a floor.

The sandbox runs in this process (``SandboxServer(onebot_port=0)``); a paced thread calls
``world.inject_message`` (the text is the message's sequence number) and a ``websockets``
client reads the events: latency = arrival - injection, on one ``perf_counter`` clock. The
floor is a bare ``websockets`` server in the same process sending prepared event frames at
the same pace to the same client code. Both sides share this process, so the GIL is shared
alike.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Callable, List, Tuple

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect
from websockets.sync.server import serve

from ._load import percentile
from ._table import Row

RATE = 1000  # messages per second


def _paced(n: int, sent: List[float], one: Callable[[int], None]) -> None:
    start = time.perf_counter()
    for i in range(n):
        delay = start + i / RATE - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        sent[i] = time.perf_counter()
        one(i)


def _receive(port: int, n: int, sent: List[float], ready: threading.Event, go: Callable[[], None]) -> List[float]:
    """Connect, wait for the lifecycle event, start the sender, collect ``n`` latencies."""
    latencies: List[float] = []
    with connect("ws://127.0.0.1:%d/" % port, proxy=None, compression=None, max_size=None) as ws:
        assert json.loads(ws.recv(10)).get("meta_event_type") == "lifecycle"
        ready.set()
        go()
        deadline = time.monotonic() + n / RATE + 10
        while len(latencies) < n and time.monotonic() < deadline:
            try:
                ev = json.loads(ws.recv(max(0.01, deadline - time.monotonic())))
            except TimeoutError:
                break
            now = time.perf_counter()
            if ev.get("post_type") == "message":
                latencies.append(now - sent[int(ev["raw_message"])])
    return latencies


def _sandbox(n: int) -> Tuple[List[float], int]:
    from openqq_sync.sandbox import SandboxServer

    srv = SandboxServer(world="small", port=0, onebot_port=0, auto_scan=None, auto_confirm=None).start()
    try:
        friend = next(iter(srv.world.data.friends))
        sent = [0.0] * n
        th = threading.Thread(target=_paced, name="bench-onebot-inject",
                              args=(n, sent, lambda i: srv.world.inject_message("friend_message", friend, str(i))))
        lat = _receive(srv.onebot.port, n, sent, threading.Event(), th.start)
        th.join()
        return lat, n
    finally:
        srv.stop()


def _floor(n: int) -> Tuple[List[float], int]:
    base = {"time": int(time.time()), "self_id": 10000, "post_type": "message", "message_type": "private",
            "sub_type": "friend", "user_id": 10001, "font": 14, "sender": {"user_id": 10001, "nickname": "floor"}}
    frames = [json.dumps(dict(base, message_id=i, raw_message=str(i), message=[{"type": "text", "data": {"text": str(i)}}]),
                         ensure_ascii=False) for i in range(n)]
    lifecycle = json.dumps({"post_type": "meta_event", "meta_event_type": "lifecycle", "sub_type": "connect"})
    sent = [0.0] * n
    start = threading.Event()

    def handler(conn) -> None:
        conn.send(lifecycle)
        start.wait(10)
        _paced(n, sent, lambda i: conn.send(frames[i]))
        try:
            conn.recv(30)  # hold the connection open until the client leaves
        except ConnectionClosed:
            pass

    with serve(handler, "127.0.0.1", 0, compression=None) as server:
        th = threading.Thread(target=server.serve_forever, name="bench-onebot-floor", daemon=True)
        th.start()
        try:
            lat = _receive(server.socket.getsockname()[1], n, sent, threading.Event(), start.set)
        finally:
            server.shutdown()
            th.join(10)
    return lat, n


def _rows(name: str, lat: List[float], n: int, floor_p99=None, judged: bool = True) -> List[Row]:
    lat.sort()
    p50, p99 = percentile(lat, 0.5) * 1000, percentile(lat, 0.99) * 1000
    mx = lat[-1] * 1000 if lat else float("nan")
    lost = n - len(lat)
    return [Row(f"onebot ws {name} p50", p50, "ms", None, "info"),
            Row(f"onebot ws {name} p99", p99, "ms", floor_p99, "<= 10 ms" if judged else "info",
                p99 <= 10 if judged else None),
            Row(f"onebot ws {name} max", mx, "ms", None, "info"),
            Row(f"onebot ws {name} lost", lost, "", None, "0" if judged else "info", lost == 0 if judged else None)]


def run(full: bool) -> List[Row]:
    n = RATE * (20 if full else 5)
    floor_lat, floor_n = _floor(n)
    floor_p99 = percentile(sorted(floor_lat), 0.99) * 1000
    rows = _rows("floor (bare websockets)", floor_lat, floor_n, judged=False)
    lat, n = _sandbox(n)
    return rows + _rows("sandbox events", lat, n, floor_p99)
