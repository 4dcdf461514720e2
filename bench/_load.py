"""Keep-alive HTTP load from its own process: N connections, one request in flight on each.

Run as ``python -m bench._load URL [URL ...] --concurrency 8 --seconds 5``; prints one JSON
object with requests/s, p50/p99 (ms) and the error count. Each connection cycles through the
URLs so every route gets the same share.

One selector loop drives every connection. The first driver ran a thread per connection with
http.client; on 2 cores it was the bottleneck of the small reads: it spent 250-400 µs of CPU
per request, more than either server, and more the faster the server answered, as its eight
threads fought over the GIL. The figures then measured the driver. This loop spends a few
tens of microseconds per request, the same for both sides of a comparison.
"""

from __future__ import annotations

import argparse
import json
import selectors
import socket
import time
import urllib.parse
from typing import List, Optional


def percentile(sorted_values: List[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, int(round(q * (len(sorted_values) - 1)))))
    return sorted_values[k]


class _Conn:
    """One keep-alive connection and the response it is reading."""

    def __init__(self, host: str, port: int, requests: List[bytes], offset: int) -> None:
        self.host, self.port, self.requests = host, port, requests
        self.next = offset
        self.sock: Optional[socket.socket] = None
        self.data = bytearray()
        self.remaining = -1      # body bytes still to come; -1 while the head is incomplete
        self.status = 0
        self.sent_at = 0.0

    def open(self) -> socket.socket:
        self.sock = socket.create_connection((self.host, self.port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self.sock

    def send(self) -> None:
        request = self.requests[self.next % len(self.requests)]
        self.next += 1
        self.data.clear()
        self.remaining = -1
        self.sent_at = time.perf_counter()
        self.sock.setblocking(True)
        self.sock.sendall(request)
        self.sock.setblocking(False)

    def feed(self, chunk: bytes) -> bool:
        """Take received bytes; True once the whole response is in."""
        if self.remaining >= 0:
            self.remaining -= len(chunk)
            return self.remaining <= 0
        self.data += chunk
        end = self.data.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = bytes(self.data[:end]).decode("latin-1").split("\r\n")
        self.status = int(head[0].split()[1])
        length = next((int(line.split(":", 1)[1]) for line in head[1:]
                       if line.lower().startswith("content-length:")), 0)
        self.remaining = length - (len(self.data) - end - 4)
        return self.remaining <= 0


def drive(urls: List[str], concurrency: int, seconds: float) -> dict:
    parsed = [urllib.parse.urlsplit(u) for u in urls]
    host, port = parsed[0].hostname, parsed[0].port
    requests = [f"GET {p.path}{'?' + p.query if p.query else ''} HTTP/1.1\r\nHost: {p.netloc}\r\n"
                f"Accept-Encoding: identity\r\n\r\n".encode("latin-1") for p in parsed]
    sel = selectors.DefaultSelector()
    latencies: List[float] = []
    errors = 0
    conns = [_Conn(host, port, requests, n) for n in range(concurrency)]
    start = time.perf_counter()
    deadline = start + seconds
    for c in conns:
        sel.register(c.open(), selectors.EVENT_READ, c)
        c.send()
    while sel.get_map():
        now = time.perf_counter()
        if now >= deadline:
            break
        for key, _ in sel.select(deadline - now):
            c: _Conn = key.data
            try:
                chunk = c.sock.recv(1 << 18)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if chunk and not c.feed(chunk):
                continue
            done = time.perf_counter()
            if chunk and c.status == 200:
                latencies.append(done - c.sent_at)
            else:
                errors += 1
            if not chunk:        # closed under us: count it and reconnect
                sel.unregister(c.sock)
                c.sock.close()
                sel.register(c.open(), selectors.EVENT_READ, c)
            if done < deadline:
                c.send()
    elapsed = time.perf_counter() - start
    for c in conns:
        c.sock.close()
    latencies.sort()
    return {"requests": len(latencies), "rps": len(latencies) / elapsed,
            "p50_ms": percentile(latencies, 0.50) * 1000, "p99_ms": percentile(latencies, 0.99) * 1000,
            "errors": errors}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("urls", nargs="+")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=5)
    a = ap.parse_args()
    print(json.dumps(drive(a.urls, a.concurrency, a.seconds)))


if __name__ == "__main__":
    main()
