"""Weeks of uptime in a few seconds: contact refreshes (every ``update_interval``, 600 s by
default) and relogins repeat; none of them may leave connections, file descriptors or
threads behind, or a long-running bot runs out of them."""

from __future__ import annotations

import os

from relkit import client_threads, friend_uid


def _fds():
    return len(os.listdir("/proc/self/fd"))


def test_refreshes_and_relogins_leave_no_connections_behind(make_sandbox, make_client):
    srv = make_sandbox()
    client, rec = make_client(srv.url)
    assert client.wait_for_state("running", 20)
    assert client.refresh_contacts(30)
    fds, threads = _fds(), client_threads(client)
    for _ in range(6):
        assert client.refresh_contacts(30)
    for n in range(3):
        assert srv.world.wait_for_polls(1, 5)
        srv.world.add_fault("poll2", count=1, retcode=103)
        srv.world.inject_message("friend_message", friend_uid(srv), f"wake {n}")   # ends the held poll
        rec.wait("relogin", after=n)
        assert client.wait_for_state("running", 20)
        assert client.refresh_contacts(30)
    # Each refresh used to keep ~6 member-worker sessions (and both ends of their sockets).
    assert _fds() <= fds + 4, f"file descriptors grew from {fds} to {_fds()}"
    assert client_threads(client) == threads
