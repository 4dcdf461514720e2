"""Issue 6 (shortened): 50 threads mixing sends, reads and check_event against one client.
No error, no deadlock, and every sent message reported exactly once (post_api and cursor)."""

from __future__ import annotations

import collections
import threading
import time

import requests

from stacks import LiveStack, eventually

THREADS = 50
SECONDS = 4.0


def test_fifty_threads_mixing_sends_reads_and_check_event(tmp_path):
    stack = LiveStack(str(tmp_path), threads=90, check_event_timeout=0.5, check_event_retention=100000)
    try:
        names = [f["name"] for f in stack.world["friends"]]
        friend = next(f for f in stack.world["friends"] if names.count(f["name"]) == 1 and f["uid"])
        group = stack.world["groups"][0]
        start_seq = stack.delivery.buffer.last_seq
        deadline = time.monotonic() + SECONDS
        errors, sent_ids = [], []
        lock = threading.Lock()

        def busy() -> bool:
            # Past SECONDS only until there is enough traffic to mean something (capped):
            # a loaded machine sends fewer messages in the same time.
            now = time.monotonic()
            if now < deadline:
                return True
            with lock:
                short = len(sent_ids) <= THREADS
            return short and now < deadline + 60

        def worker(n):
            http = requests.Session()
            i = 0
            try:
                while busy():
                    i += 1
                    kind = (n + i) % 5
                    if kind == 0:
                        r = http.get(stack.url + "/openqq/send_friend_message", timeout=30,
                                     params={"uid": friend["uid"], "content": f"并发 {n}-{i}"}).json()
                        assert r["code"] == 0, r
                        with lock:
                            sent_ids.append(r["id"])
                    elif kind == 1:
                        r = http.post(stack.url + "/openqq/send_group_message", timeout=30,
                                      json={"id": group["id"], "content": f"群并发 {n}-{i}"}).json()
                        assert r["code"] == 0, r
                        with lock:
                            sent_ids.append(r["id"])
                    elif kind == 2:
                        assert isinstance(http.get(stack.url + "/openqq/get_group_info", timeout=30).json(), list)
                    elif kind == 3:
                        assert isinstance(http.get(stack.url + "/openqq/check_event", timeout=30).json(), list)
                    else:
                        r = http.get(stack.url + "/openqq/search_friend", params={"uid": friend["uid"]}, timeout=30)
                        assert r.json()[0]["uid"] == friend["uid"]
            except Exception as e:  # collected: a failing worker must not hide behind the others
                with lock:
                    errors.append(repr(e))

        threads = [threading.Thread(target=worker, args=(n,), name=f"test-mix-{n}") for n in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(SECONDS + 120)
        assert not any(t.is_alive() for t in threads), "deadlock: workers still running"
        assert errors == []
        assert len(sent_ids) > THREADS
        want = collections.Counter(sent_ids)
        assert max(want.values()) == 1                     # ids are unique

        def reported():
            return collections.Counter(p["id"] for p in stack.posts("send_message") if p["id"] in want)
        eventually(lambda: sum(reported().values()) >= len(want), timeout=20)
        assert reported() == want                         # each exactly once on post_api
        cursor = collections.Counter(i["id"] for i in stack.delivery.buffer.since(start_seq, 0)
                                     if i.get("post_type") == "send_message")
        assert cursor == want                             # and exactly once on the cursor
    finally:
        stack.close()
