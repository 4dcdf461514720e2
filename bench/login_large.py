"""Log a Client into the large sandbox world and report the time to ``running`` and peak RSS.

    .venv/bin/python bench/login_large.py [--world large] [--workers 8] [--runs 1]

The sandbox runs in a child process (its world does not count in our memory); the client
runs here, so ``ru_maxrss`` is the client's own peak (interpreter + libraries included,
printed separately as the baseline before the client starts). One line per run, then a
summary.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import tempfile
import time


def _sandbox(world: str, conn: "multiprocessing.connection.Connection") -> None:
    from openqq_sync import SandboxServer

    srv = SandboxServer(world=world, auto_scan=0.05, auto_confirm=0.05, poll_hold=25.0).start()
    conn.send(srv.url)
    conn.recv()            # the parent says when to stop
    srv.stop()


def _cpu_seconds(pid: int) -> float:
    """utime + stime of process ``pid`` (Linux /proc), in seconds."""
    import os

    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0   # Linux: kilobytes


def main(argv: "list[str] | None" = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--world", default="large")
    ap.add_argument("--workers", type=int, default=8, help="member_fetch_workers")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--member-load", default="login", choices=("login", "background"),
                    help="Config.member_load: members before running, or right after it")
    ap.add_argument("--lazy-members", action="store_true",
                    help="for comparison: skip the member load at login (as the original did)")
    args = ap.parse_args(argv)

    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_sandbox, args=(args.world, child), name="sandbox", daemon=True)
    proc.start()
    url = parent.recv()

    from openqq_sync import Client, Config

    if args.lazy_members:
        from openqq_sync.client.loader import Loader

        Loader._members_of = lambda self, owner: []  # type: ignore[method-assign]

    baseline = _peak_mb()
    print(f"sandbox {args.world} world at {url}; client baseline peak RSS {baseline:.1f} MB", flush=True)
    times = []
    cpus = []
    try:
        for run in range(args.runs):
            tmp = tempfile.mkdtemp(prefix="openqq-bench-")
            client = Client(Config(account=f"bench{run}", tmpdir=tmp, server=url, show_qrcode=False,
                                   keep_cookie=False, qrcode_poll_interval=0.05, send_interval=0,
                                   member_fetch_workers=args.workers, member_load=args.member_load))
            t0 = time.monotonic()
            cpu0 = time.process_time()
            sandbox_cpu0 = _cpu_seconds(proc.pid)
            client.start()
            ok = client.wait_for_state("running", 300)
            elapsed = time.monotonic() - t0
            members_ok = args.lazy_members or client.wait_for_members(300)
            members_at = time.monotonic() - t0
            cpu = time.process_time() - cpu0
            sandbox_cpu = _cpu_seconds(proc.pid) - sandbox_cpu0
            counts = client.contacts.counts()
            client.stop()
            if not (ok and members_ok):
                print(f"run {run}: did not reach running ({client.error})", flush=True)
                return 1
            times.append(elapsed)
            cpus.append((cpu, sandbox_cpu))
            print(f"run {run}: running after {elapsed:.2f} s, all members after {members_at:.2f} s "
                  f"(CPU client {cpu:.2f} s, sandbox {sandbox_cpu:.2f} s); {counts}; "
                  f"peak RSS {_peak_mb():.1f} MB", flush=True)
    finally:
        parent.send("stop")
        proc.join(30)
    print(f"login to running: best {min(times):.2f} s, mean {sum(times) / len(times):.2f} s over "
          f"{len(times)} run(s); CPU mean client {sum(c for c, _ in cpus) / len(cpus):.2f} s, "
          f"sandbox {sum(s for _, s in cpus) / len(cpus):.2f} s; "
          f"peak RSS {_peak_mb():.1f} MB (baseline {baseline:.1f} MB); "
          f"member_fetch_workers={args.workers}, member_load={args.member_load}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
