"""Scenario 6: RSS of the API process after 10,000 messages (no growth beyond its buffers)."""

from __future__ import annotations

import http.client
import json
import time
from typing import List, Tuple

from ._procs import ApiServer, Sandbox
from ._receiver import Receiver
from ._table import Row


def _inject(sandbox: Sandbox, uid, n: int, tag: str) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=10)
    for i in range(n):
        body = json.dumps({"type": "friend_message", "sender_uid": uid, "content": f"{tag} {i} 内存测试"})
        conn.request("POST", "/sandbox/message", body=body, headers={"Content-Type": "application/json"})
        conn.getresponse().read()
    conn.close()


def run(full: bool) -> List[Row]:
    total = 10_000
    sandbox = Sandbox(world="small")
    receiver = Receiver()
    api = None
    try:
        api = ApiServer(sandbox.url, extra=["--post-api", receiver.url, "--no-post-event"])
        uid = sandbox.world()["friends"][0]["uid"]

        def count(posts: List[Tuple[float, dict]]) -> int:
            return sum(p[1].get("post_type") == "receive_message" for p in posts)

        _inject(sandbox, uid, 1000, "warm")
        receiver.wait_count(lambda p: count(p) >= 1000, 60)
        warm_kb = api.rss_kb()
        _inject(sandbox, uid, total, "steady")
        receiver.wait_count(lambda p: count(p) >= 1000 + total, 120)
        time.sleep(0.5)
        after_kb = api.rss_kb()
        delivered = count(receiver.posts) - 1000
        growth = (after_kb - warm_kb) / 1024
        return [Row("memory RSS after 1k warm-up", warm_kb / 1024, "MB", None, "info"),
                Row(f"memory RSS after +{total:,} messages", after_kb / 1024, "MB", None, "info"),
                Row("memory growth over 10k messages", growth, "MB", None, "<= 5 MB", growth <= 5),
                Row("memory messages delivered", delivered, "", None, f"{total}", delivered == total)]
    finally:
        if api:
            api.close()
        receiver.close()
        sandbox.close()
