"""The check_event cursor across a restart of the server: ``seq`` starts again at 1 in a new
process, so a consumer that reconnects with a cursor from the old process must not wait for
numbers the new one has not reached (it would miss everything up to there).

Several consumers and reconnects within one process are in tests/reliability/test_rel_soak.py.
"""

from __future__ import annotations

import requests

from stacks import StubClient, stub_api


def _emit(app, *texts):
    delivery = app.extensions["openqq_sync"].delivery
    return [delivery.emit({"post_type": "event", "event": "test", "params": [t]}, drain=True) for t in texts]


def _read(server, since):
    return requests.get(server.url + "/openqq/check_event", params={"since": since}, timeout=10).json()


def test_a_cursor_from_before_a_restart_gets_the_new_stream_from_its_start():
    with stub_api(StubClient(state="running"), check_event_timeout=0.2) as (server, _, app):
        _emit(app, *[f"old {n}" for n in range(5)])
        cursor = _read(server, 0)[-1]["seq"]
        assert cursor == 5
    # A new process: numbering starts over, and two reports are out before the consumer is back.
    with stub_api(StubClient(state="running"), check_event_timeout=0.2) as (server, _, app):
        _emit(app, "new 0", "new 1")
        items = _read(server, cursor)
        assert [i["params"][0] for i in items] == ["new 0", "new 1"]
        assert [i["seq"] for i in items] == [1, 2]         # lower than the cursor: a restart
        # Nothing is waiting for seq 6 either: the next report reaches a waiting cursor.
        _emit(app, "new 2")
        assert [i["params"][0] for i in _read(server, 2)] == ["new 2"]


def test_a_cursor_at_the_end_still_waits_for_the_next_report():
    with stub_api(StubClient(state="running"), check_event_timeout=0.2) as (server, _, app):
        _emit(app, "a", "b")
        assert _read(server, 2) == []                      # waited, then nothing new
        assert _read(server, 1)[0]["params"] == ["b"]
