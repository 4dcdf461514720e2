"""Scenario 5: start to `running` and the API process's peak RSS, small → medium → large world."""

from __future__ import annotations

from typing import List

from ._procs import ApiServer, Sandbox, cpu_seconds
from ._table import Row


def measure(world: str) -> tuple:
    """(seconds to running, API peak RSS MB, members, API CPU s, sandbox CPU s during the login).

    The two processes share the machine's cores, so the sandbox's CPU while it serves the
    login counts against the wall time too."""
    sandbox = Sandbox(world=world)
    try:
        sandbox_cpu = cpu_seconds(sandbox.popen.pid)
        api = ApiServer(sandbox.url, start_timeout=300)
        try:
            api_cpu = cpu_seconds(api.popen.pid)
            sandbox_cpu = cpu_seconds(sandbox.popen.pid) - sandbox_cpu
            members = sum(len(g.get("members", [])) for g in sandbox.world()["groups"])
            return api.ready_seconds, api.rss_peak_kb() / 1024, members, api_cpu, sandbox_cpu
        finally:
            api.close()
    finally:
        sandbox.close()


def run(full: bool) -> List[Row]:
    rows: List[Row] = []
    results = {}
    for world in ("small", "medium", "large"):
        seconds, peak_mb, members, api_cpu, sandbox_cpu = measure(world)
        results[world] = (seconds, peak_mb, members)
        big = world == "large"
        rows.append(Row(f"login {world} ({members:,} members) to running", seconds, "s", None,
                        "<= 5 s" if big else "info", (seconds <= 5) if big else None))
        rows.append(Row(f"login {world} peak RSS", peak_mb, "MB", None,
                        "<= 200 MB" if big else "info", (peak_mb <= 200) if big else None))
        if big:
            rows.append(Row(f"login {world} CPU, API process (start to running)", api_cpu, "s", None, "info"))
            rows.append(Row(f"login {world} CPU, sandbox while serving it", sandbox_cpu, "s", None, "info"))
    (s1, m1, n1), (s2, m2, n2), (s3, m3, n3) = (results[w] for w in ("small", "medium", "large"))
    if n3 > n2 > n1:
        # Growth per member between medium and large against small→medium shows (non)linearity.
        rows.append(Row("login growth ms per 1k members (medium→large)", (s3 - s2) / (n3 - n2) * 1e6, "ms", None,
                        "info"))
        rows.append(Row("login growth MB per 1k members (medium→large)", (m3 - m2) / (n3 - n2) * 1e3, "MB", None,
                        "info"))
    return rows
