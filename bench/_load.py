"""Keep-alive HTTP load from its own process: N threads, each with one connection.

Run as ``python -m bench._load URL [URL ...] --concurrency 8 --seconds 5``; prints one JSON
object with requests/s, p50/p99 (ms) and the error count. Each thread cycles through the
URLs so every route gets the same share.
"""

from __future__ import annotations

import argparse
import http.client
import json
import threading
import time
import urllib.parse
from typing import List


def percentile(sorted_values: List[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, int(round(q * (len(sorted_values) - 1)))))
    return sorted_values[k]


def _worker(urls, deadline, latencies, errors, lock, method="GET", body=None):
    parsed = [urllib.parse.urlsplit(u) for u in urls]
    conn = http.client.HTTPConnection(parsed[0].hostname, parsed[0].port, timeout=30)
    mine, bad, i = [], 0, 0
    while time.perf_counter() < deadline:
        p = parsed[i % len(parsed)]
        i += 1
        path = p.path + ("?" + p.query if p.query else "")
        t0 = time.perf_counter()
        try:
            conn.request(method, path, body=body)
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                bad += 1
        except (OSError, http.client.HTTPException):
            bad += 1
            conn.close()
            conn = http.client.HTTPConnection(p.hostname, p.port, timeout=30)
            continue
        mine.append(time.perf_counter() - t0)
    conn.close()
    with lock:
        latencies.extend(mine)
        errors.append(bad)


def drive(urls: List[str], concurrency: int, seconds: float) -> dict:
    latencies: List[float] = []
    errors: List[int] = []
    lock = threading.Lock()
    start = time.perf_counter()
    deadline = start + seconds
    threads = [threading.Thread(target=_worker, name=f"load-{n}",
                                args=(urls, deadline, latencies, errors, lock))
               for n in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {"requests": len(latencies), "rps": len(latencies) / elapsed,
            "p50_ms": percentile(latencies, 0.50) * 1000, "p99_ms": percentile(latencies, 0.99) * 1000,
            "errors": sum(errors)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("urls", nargs="+")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=5)
    a = ap.parse_args()
    print(json.dumps(drive(a.urls, a.concurrency, a.seconds)))


if __name__ == "__main__":
    main()
