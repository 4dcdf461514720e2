"""The member loads pause the cyclic garbage collector and give it back as they found it."""

from __future__ import annotations

import gc
import threading
from types import SimpleNamespace

import pytest

from openqq_sync import _loader
from openqq_sync._loader import Loader


@pytest.fixture(autouse=True)
def _gc_enabled_after():
    yield
    gc.enable()


def test_pauses_nest_and_restore_the_collector():
    assert gc.isenabled()
    with _loader._gc_paused():
        assert not gc.isenabled()
        with _loader._gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(KeyError):
        with _loader._gc_paused():
            raise KeyError("a failed load")
    assert gc.isenabled()


def test_a_collector_the_application_turned_off_stays_off():
    gc.disable()
    with _loader._gc_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_overlapping_loads_on_two_threads_restore_once_both_end():
    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with _loader._gc_paused():
            inside.set()
            release.wait(5)

    t = threading.Thread(target=other, name="openqq-test-other-load")
    t.start()
    assert inside.wait(5)
    with _loader._gc_paused():
        pass
    assert not gc.isenabled()      # the other load still runs
    release.set()
    t.join(5)
    assert gc.isenabled()


@pytest.mark.parametrize("workers", [1, 3])
def test_member_loads_run_with_the_collector_paused(workers):
    seen = []
    client = SimpleNamespace(config=SimpleNamespace(member_fetch_workers=workers, account="t"),
                             _stop_event=threading.Event(),
                             _transport=SimpleNamespace(thread_session=lambda: None,
                                                        discard_session=lambda s: None))
    loader = Loader(client)

    def fetch(item):
        seen.append(gc.isenabled())
        return [("new_thing", {"item": item})]

    assert [kw["item"] for _, kw in loader._parallel(fetch, [1, 2, 3])] == [1, 2, 3]
    assert seen == [False, False, False] and gc.isenabled()
