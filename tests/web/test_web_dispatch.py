"""The worker pool hands each task to the most recently idle thread (web/_dispatch.py)."""

from __future__ import annotations

import threading
from typing import List

from openqq_sync.web._dispatch import HotThreadDispatcher, StackCondition
from webkit import eventually


def _park(cond: StackCondition, lock: threading.Lock, name: str, woke: List[str], count: List[int]):
    def run():
        with lock:
            count[0] += 1
            cond.wait()
            woke.append(name)
    t = threading.Thread(target=run, name=f"test-waiter-{name}")
    t.start()
    return t


def test_notify_wakes_the_newest_waiter_first_and_notify_all_the_rest():
    lock = threading.Lock()
    cond = StackCondition(lock)
    woke: List[str] = []
    count = [0]
    threads = []
    for name in "abc":                                 # a waits longest, c is newest
        threads.append(_park(cond, lock, name, woke, count))
        eventually(lambda: count[0] == len(threads) and len(cond._waiters) == len(threads))
    with lock:
        cond.notify()
    eventually(lambda: woke == ["c"])
    with lock:
        cond.notify_all()
    for t in threads:
        t.join(5)
    assert woke[0] == "c" and sorted(woke[1:]) == ["a", "b"]


def test_a_wait_that_times_out_leaves_no_waiter_behind():
    lock = threading.Lock()
    cond = StackCondition(lock)
    with lock:
        assert cond.wait(0.01) is False
        assert cond._waiters == []
        cond.notify()                                  # nobody waits: a no-op


def test_a_steady_load_runs_on_one_thread_of_a_large_pool():
    pool = HotThreadDispatcher()
    pool.set_thread_count(40)
    ran: List[str] = []
    try:
        # Every thread waiting first: one still starting would wait after the first task's
        # thread and so be the newest idle one (on a loaded machine, in the full suite).
        eventually(lambda: pool.active_count == 0)
        for _ in range(30):                            # one task at a time, as a sequential client
            done = threading.Event()

            class Task:
                def service(self, done=done):
                    ran.append(threading.current_thread().name)
                    done.set()

                def cancel(self):
                    pass
            pool.add_task(Task())
            assert done.wait(5)
            eventually(lambda: pool.active_count == 0)  # back to idle before the next one
    finally:
        pool.shutdown(timeout=5)
    # waitress's own order would have walked through 30 different threads.
    assert len(set(ran)) == 1, sorted(set(ran))
    assert not pool.threads
