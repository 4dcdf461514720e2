"""EventBuffer: the original check_event semantics and the lossless ``since`` cursor."""

from __future__ import annotations

import threading
import time

from openqq_sync.delivery import EventBuffer
from stacks import eventually


def _join_all(threads, within):
    deadline = time.monotonic() + within
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    stuck = [t.name for t in threads if t.is_alive()]
    assert not stuck, f"{len(stuck)} readers never woke: {stuck[:5]}"


def _fill(buf, n, start=1, drain=True):
    for seq in range(start, start + n):
        buf.append({"n": seq}, seq=seq, drain=drain)


def test_take_returns_everything_buffered_and_clears_it():
    buf = EventBuffer(max_size=20)
    _fill(buf, 3)
    assert buf.take(0.01) == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert buf.take(0.01) == []


def test_size_limit_drops_the_oldest():
    buf = EventBuffer(max_size=5)
    _fill(buf, 8)
    assert [i["n"] for i in buf.take(0.01)] == [4, 5, 6, 7, 8]


def test_take_times_out_with_empty_list():
    assert EventBuffer().take(0.05) == []


def test_waiter_is_woken_by_the_next_item_and_gets_exactly_it():
    buf = EventBuffer()
    got = []
    def wait():
        got.append(buf.take(10))

    t = threading.Thread(target=wait)
    t.start()
    eventually(lambda: buf.waiters >= 1)
    buf.append({"n": 1}, seq=1)
    t.join(5)
    assert got == [[{"n": 1}]]


def test_several_waiters_each_get_a_real_answer_never_null():
    buf = EventBuffer()
    results = []
    lock = threading.Lock()

    def wait():
        r = buf.take(0.5)
        with lock:
            results.append(r)

    threads = [threading.Thread(target=wait) for _ in range(4)]
    for t in threads:
        t.start()
    eventually(lambda: buf.waiters >= 4)
    _fill(buf, 2)
    for t in threads:
        t.join(5)
    assert None not in [x for r in results for x in r]
    items = sorted(x["n"] for r in results for x in r)
    assert items == [1, 2]                      # each item to exactly one waiter
    assert sorted(len(r) for r in results) == [0, 0, 1, 1]   # the others time out with []


def test_since_returns_retained_items_without_removing_them():
    buf = EventBuffer(max_size=2, retention=5)
    _fill(buf, 7)
    assert [i["n"] for i in buf.since(0, 0)] == [3, 4, 5, 6, 7]   # retention 5
    assert [i["n"] for i in buf.since(5, 0)] == [6, 7]
    assert [i["n"] for i in buf.since(5, 0)] == [6, 7]             # nothing removed
    assert buf.oldest_seq() == 3 and buf.last_seq == 7
    assert buf.since(7, 0.05) == []
    # The drain buffer is independent of the cursor readers.
    assert [i["n"] for i in buf.take(0)] == [6, 7]


def test_since_waits_for_a_newer_item():
    buf = EventBuffer()
    _fill(buf, 2)
    got = []
    t = threading.Thread(target=lambda: got.append(buf.since(2, 10)))
    t.start()
    eventually(lambda: buf.waiters >= 1)
    buf.append({"n": 3}, seq=3, drain=False)
    t.join(5)
    assert got == [[{"n": 3}]]
    assert buf.take(0) == [{"n": 1}, {"n": 2}]   # drain=False kept it out of the drain buffer


def test_waiter_cap_answers_at_once_and_close_wakes_everyone():
    buf = EventBuffer(max_waiters=1)
    results = []
    t = threading.Thread(target=lambda: results.append(buf.take(30)))
    t.start()
    eventually(lambda: buf.waiters >= 1)
    assert buf.take(30) == []                    # over the cap: no wait
    buf.close()
    t.join(5)
    assert not t.is_alive() and results == [[]]
    assert buf.take(30) == []                    # closed: no wait


def test_one_append_wakes_every_cursor_reader_through_the_relay():
    buf = EventBuffer(max_waiters=200)
    _fill(buf, 1)
    got = []
    lock = threading.Lock()

    def reader():
        items = buf.since(1, 30)
        with lock:
            got.append(items)

    readers = [threading.Thread(target=reader, name=f"reader-{i}") for i in range(100)]
    for t in readers:
        t.start()
    eventually(lambda: buf.waiters == 100)
    buf.append({"n": 2}, seq=2, drain=False)
    # A reader the relay missed would sleep out its 30 s: a shared 10 s deadline tells.
    _join_all(readers, 10)
    assert got == [[{"n": 2}]] * 100


def test_cursor_readers_arriving_during_appends_never_stall():
    """Readers re-enter while items keep coming, so some wait with a cursor the relay
    has already passed. If such a reader ended the relay while others still had items
    due, those would sleep out their 30 s wait: the shared 15 s deadline tells."""
    buf = EventBuffer(max_waiters=200)
    total, consumers = 300, 30
    seen = [[] for _ in range(consumers)]
    empty_answers = []
    started = threading.Barrier(consumers + 1)

    def consume(mine):
        cursor = 0
        started.wait()
        while cursor < total:
            items = buf.since(cursor, 30)
            if not items:
                empty_answers.append(cursor)
                return
            mine.extend(item["n"] for item in items)
            cursor = mine[-1]

    threads = [threading.Thread(target=consume, args=(seen[i],), name=f"consumer-{i}")
               for i in range(consumers)]
    for t in threads:
        t.start()
    started.wait()
    for seq in range(1, total + 1):
        buf.append({"n": seq}, seq=seq, drain=False)
        if seq % 7 == 0:
            eventually(lambda: buf.waiters > 0)   # let readers park mid-stream
    _join_all(threads, 15)
    assert empty_answers == []
    assert all(s == list(range(1, total + 1)) for s in seen)


def test_a_cursor_reader_that_times_out_returns_empty_and_the_next_append_still_wakes_others():
    buf = EventBuffer()
    _fill(buf, 1)
    assert buf.since(1, 0.05) == []
    got = []
    t = threading.Thread(target=lambda: got.append(buf.since(1, 30)))
    t.start()
    eventually(lambda: buf.waiters == 1)
    buf.append({"n": 2}, seq=2)
    t.join(5)
    assert got == [[{"n": 2}]]
