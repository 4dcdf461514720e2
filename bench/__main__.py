"""``make bench`` / ``python -m bench [--full] [scenario ...]``: run scenarios, print one table."""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback

from ._procs import compile_package
from ._table import Row, machine, render

SCENARIOS = ["reads", "sends", "event_latency", "longpoll", "login_scale", "steady_memory", "onebot_events",
             "onebot_client", "controller"]


def main() -> int:
    ap = argparse.ArgumentParser(prog="bench")
    ap.add_argument("--full", action="store_true", help="longer runs (the figures in bench/RESULTS.md)")
    ap.add_argument("scenarios", nargs="*", default=SCENARIOS)
    a = ap.parse_args()
    print(f"machine: {machine()}; profile: {'full' if a.full else 'quick'}", flush=True)
    compile_package()
    rows = []
    for name in a.scenarios:
        t0 = time.monotonic()
        try:
            mod = importlib.import_module(f"bench.{name}")
            rows += mod.run(a.full)
        except Exception:  # a broken scenario is reported as a failed row; the others still run
            traceback.print_exc()
            rows.append(Row(f"{name} (crashed)", float("nan"), "", None, "runs", False))
        print(f"[{name}: {time.monotonic() - t0:.0f}s]", file=sys.stderr, flush=True)
    print(render(rows))
    return 0 if all(r.passed is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
