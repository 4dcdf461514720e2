"""Scenario: the Openqq API over the onebot backend, against the sandbox's OneBot face.

Three measurements, each against its floor in the same run (processes as in production:
``openqq sandbox --onebot-port`` and ``openqq run --backend onebot``):

* events: 200 msg/s injected with ``POST /sandbox/message`` (content ``<seq> <wall time>``)
  to post_api and to ``check_event?since=``; floor: a bare ``websockets`` client on the same
  sandbox receiving the same frames;
* sends: sequential ``send_friend_message`` API calls (``send_interval`` 0); floor: raw
  ``send_msg`` round trips on one WebSocket to the same sandbox; beside it, the backend's own
  part alone (its Connection and ``actions.send`` in this process) and a plain API call;
* restart: the sandbox process is killed and started again on the same ports; the time from
  its return until the API answers ``running`` again (target 3 s).
"""

from __future__ import annotations

import http.client
import json
import socket
import sys
import threading
import time
import urllib.parse
from typing import List, Optional, Tuple

from websockets.sync.client import connect

from ._procs import ApiServer, Proc, Sandbox, _wait_http, free_port
from ._receiver import Receiver
from ._table import Row
from .event_latency import _check_event_consumer, _inject_all, _latency_of, _stats


def _sandbox(port: int, http_port: Optional[int] = None) -> Sandbox:
    box = Sandbox(world="small", extra=["--onebot-port", str(port)], port=http_port)
    deadline = time.monotonic() + 30
    while True:   # the HTTP side answers first; wait for the OneBot face's port too
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return box
        except OSError:
            if time.monotonic() > deadline:
                box.close()
                raise
            time.sleep(0.02)


def _api(sandbox: Sandbox, ob_port: int, extra: List[str]) -> ApiServer:
    return ApiServer(sandbox.url, extra=["--backend", "onebot", "--onebot-url", f"ws://127.0.0.1:{ob_port}",
                                         "--no-show-message", *extra])


def _floor_events(seconds: float) -> Tuple[List[float], int]:
    ob_port = free_port()
    sandbox = _sandbox(ob_port)
    try:
        friend = sandbox.world()["friends"][0]["uid"]
        latencies: List[float] = []
        stop = threading.Event()
        with connect(f"ws://127.0.0.1:{ob_port}/", proxy=None, compression=None, max_size=None) as ws:
            ws.recv(10)   # lifecycle

            def read() -> None:
                while not stop.is_set():
                    try:
                        ev = json.loads(ws.recv(0.2))
                    except TimeoutError:
                        continue
                    if ev.get("post_type") == "message":
                        text = "".join(s["data"].get("text", "") for s in ev["message"] if s.get("type") == "text")
                        latencies.append(_latency_of(text, time.time()))

            reader = threading.Thread(target=read, name="bench-onebot-floor-reader", daemon=True)
            reader.start()
            injected = _inject_all(sandbox, friend, seconds)
            deadline = time.monotonic() + 10
            while len(latencies) < injected and time.monotonic() < deadline:
                time.sleep(0.05)
            stop.set()
            reader.join(5)
        return latencies, injected
    finally:
        sandbox.close()


def _api_events(seconds: float, mode: str) -> Tuple[List[float], int]:
    ob_port = free_port()
    sandbox = _sandbox(ob_port)
    receiver = Receiver() if mode == "post_api" else None
    api: Optional[ApiServer] = None
    try:
        api = _api(sandbox, ob_port, ["--post-api", receiver.url, "--no-post-event"] if receiver else [])
        friend = sandbox.world()["friends"][0]["uid"]
        latencies: List[float] = []
        stop = threading.Event()
        if mode == "check_event":
            _check_event_consumer(api.port, latencies, stop, "bench-onebot-check-event")
        injected = _inject_all(sandbox, friend, seconds)
        if receiver is not None:
            receiver.wait_count(lambda posts: sum(p[1].get("post_type") == "receive_message"
                                                  for p in posts) >= injected, 10)
            latencies = [_latency_of(d["content"], t) for t, d in receiver.posts
                         if d.get("post_type") == "receive_message"]
        else:
            deadline = time.monotonic() + 10
            while len(latencies) < injected and time.monotonic() < deadline:
                time.sleep(0.05)
            stop.set()
        return latencies, injected
    finally:
        if api:
            api.close()
        if receiver:
            receiver.close()
        sandbox.close()


def _floor_sends(ob_port: int, friend: int, n: int) -> float:
    with connect(f"ws://127.0.0.1:{ob_port}/api", proxy=None, compression=None, max_size=None) as ws:
        start = time.perf_counter()
        for i in range(n):
            ws.send(json.dumps({"action": "send_msg", "echo": str(i), "params": {
                "message_type": "private", "user_id": friend,
                "message": [{"type": "text", "data": {"text": f"压测 {i} "}}, {"type": "face", "data": {"id": "14"}}]}},
                ensure_ascii=False))
            while True:
                answer = json.loads(ws.recv(10))
                if answer.get("echo") == str(i):
                    break
            if answer.get("status") != "ok":
                raise RuntimeError(f"floor send refused: {answer}")
        return n / (time.perf_counter() - start)


def _api_sends(port: int, path: str, n: int) -> Tuple[float, int]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    failures = 0
    start = time.perf_counter()
    for i in range(n):
        q = urllib.parse.quote(f"压测 {i} [微笑]")
        conn.request("GET", f"{path}&content={q}")
        body = conn.getresponse().read()
        if b'"code":0' not in body.replace(b" ", b""):
            failures += 1
    rate = n / (time.perf_counter() - start)
    conn.close()
    return rate, failures


def _backend_sends(ob_port: int, friend: int, n: int) -> float:
    from openqq_sync.backends.onebot import actions
    from openqq_sync.backends.onebot.connection import Connection

    conn = Connection(f"ws://127.0.0.1:{ob_port}", name="openqq-bench-onebot").open()
    try:
        start = time.perf_counter()
        for i in range(n):
            result, _ = actions.send(conn.call, "friend_message", f"压测 {i} [微笑]", user_id=friend)
            if not result.ok:
                raise RuntimeError(f"backend send failed: {result}")
        return n / (time.perf_counter() - start)
    finally:
        conn.close()


def _api_calls(port: int, path: str, n: int) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    start = time.perf_counter()
    for _ in range(n):
        conn.request("GET", path)
        conn.getresponse().read()
    rate = n / (time.perf_counter() - start)
    conn.close()
    return rate


def _state(port: int) -> Optional[str]:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/openqq/get_client_info")
        state = json.loads(conn.getresponse().read()).get("state")
        conn.close()
        return state
    except (OSError, ValueError, http.client.HTTPException):
        return None


def _sends_and_restart(n: int) -> List[Row]:
    ob_port = free_port()
    sandbox = _sandbox(ob_port)
    api: Optional[ApiServer] = None
    bound: Optional[Proc] = None
    rows: List[Row] = []
    try:
        api = _api(sandbox, ob_port, [])
        friend = sandbox.world()["friends"][0]["uid"]
        bound_port = free_port()
        bound = Proc([sys.executable, "-m", "bench._flask_bound", str(bound_port), f"ws://127.0.0.1:{ob_port}/api"],
                     "flask-bound")
        _wait_http(f"http://127.0.0.1:{bound_port}/noop", 30)
        floor_time = api_time = bound_time = 0.0
        failures = 0
        for _ in range(2):   # alternating rounds: a burst of other load falls on all sides
            floor_time += (n // 2) / _floor_sends(ob_port, friend, n // 2)
            rate, bad = _api_sends(api.port, f"/openqq/send_friend_message?uid={friend}", n // 2)
            api_time += (n // 2) / rate
            failures += bad
            rate, bad = _api_sends(bound_port, f"/send?user_id={friend}", n // 2)
            bound_time += (n // 2) / rate
            failures += bad
        floor_rate, rate, bound_rate = n / floor_time, n / api_time, n / bound_time
        rows.append(Row("onebot sends send_friend_message sequential", rate, "sends/s", floor_rate,
                        ">= 0.5 floor", rate / floor_rate >= 0.5 and failures == 0))
        # The bound: a bare Flask route on waitress around the same raw round trip, and one that
        # answers without sending. Past 0.5 of the floor neither can go, so no Flask route can.
        rows.append(Row("onebot bound: bare Flask route doing one raw send_msg round trip", bound_rate,
                        "sends/s", floor_rate, "info"))
        rows.append(Row("onebot bound: bare Flask route answering without a send",
                        _api_calls(bound_port, "/noop", n), "calls/s", floor_rate, "info"))
        rows.append(Row("onebot sends send_friend_message sequential against the bare-Flask bound", rate,
                        "sends/s", bound_rate, "info"))
        bound.close()   # its WebSocket would see the restart below
        # The backend's own part of a send (Connection + actions.send, in this process) against
        # the same floor: what is left of a send's cost is the API's and the core sender's.
        own = _backend_sends(ob_port, friend, n)
        rows.append(Row("onebot backend send alone (Connection in-process)", own, "sends/s",
                        _floor_sends(ob_port, friend, n), "info"))
        # What any API call costs before a send starts: the floor has no HTTP request in it.
        rows.append(Row("onebot API round trip without a send (get_client_info)",
                        _api_calls(api.port, "/openqq/get_client_info", n), "calls/s", None, "info"))
        # restart: the same ports, the same world
        sandbox_port = sandbox.port
        sandbox.close()
        gone = time.monotonic()
        while _state(api.port) == "running" and time.monotonic() - gone < 30:
            time.sleep(0.01)
        sandbox = _sandbox(ob_port, sandbox_port)
        back = time.monotonic()
        while _state(api.port) != "running" and time.monotonic() - back < 30:
            time.sleep(0.01)
        seconds = time.monotonic() - back
        rows.append(Row("onebot server restart: running again after its return", seconds, "s", None,
                        "<= 3 s", seconds <= 3.0))
    finally:
        if bound:
            bound.close()
        if api:
            api.close()
        sandbox.close()
    return rows


def run(full: bool) -> List[Row]:
    seconds = 20 if full else 5
    floor_lat, floor_n = _floor_events(seconds)
    floor_p99 = sorted(floor_lat)[int(0.99 * (len(floor_lat) - 1))] * 1000 if floor_lat else None
    rows = _stats("onebot floor (bare websockets)", floor_lat, floor_n)
    for r in rows:
        r.passed = None
        r.target = "info"
    for mode in ("post_api", "check_event"):
        lat, n = _api_events(seconds, mode)
        rows += _stats(f"onebot {mode}", lat, n, floor_p99)
    rows += _sends_and_restart(400 if full else 100)
    return rows
