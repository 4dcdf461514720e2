"""Result rows and the printed table shared by every scenario."""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import dataclass
from typing import List, Optional


@dataclass
class Row:
    scenario: str
    figure: float
    unit: str
    floor: Optional[float] = None      # same quantity measured on the floor in the same run
    target: str = ""                   # human-readable target, e.g. ">= 0.8 floor" or "<= 20 ms"
    passed: Optional[bool] = None

    @property
    def ratio(self) -> Optional[float]:
        if self.floor in (None, 0):
            return None
        return self.figure / self.floor


def machine() -> str:
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, timeout=5).stdout.strip()
    except OSError:
        commit = "?"
    return f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, commit {commit or '?'}"


def _fmt(v: Optional[float]) -> str:
    if v is None:
        return "-"
    return f"{v:,.1f}" if abs(v) >= 10 else f"{v:.3f}"


def render(rows: List[Row]) -> str:
    head = ["scenario", "figure", "floor", "ratio", "target", "result"]
    body = [[r.scenario, f"{_fmt(r.figure)} {r.unit}", _fmt(r.floor), _fmt(r.ratio), r.target,
             {True: "pass", False: "FAIL", None: "-"}[r.passed]] for r in rows]
    widths = [max(len(x[i]) for x in [head] + body) for i in range(len(head))]

    def line(cells: List[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"

    out = [line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(b) for b in body]
    return "\n".join(out)
