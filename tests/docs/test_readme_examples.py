"""Every curl example in README.md works: run as written against the demo world.

The examples name the demo's ports (API 127.0.0.1:5000, sandbox 127.0.0.1:9000 or ``$S``);
the test runs the same world (seed 1, small) on free ports and rewrites only the address.
A JSON answer with a ``code`` must carry 0 unless the example's own comment shows another
code (the documented failure examples).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from typing import Iterator, List, Tuple

import pytest

from webkit import LiveStack, eventually

README = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "README.md")
API_HOSTS = ("127.0.0.1:5000", "127.0.0.1:9000")
LAST = ("/openqq/relogin", "/openqq/stop_client")

pytestmark = pytest.mark.skipif(subprocess.run(["sh", "-c", "command -v curl"],
                                               capture_output=True).returncode != 0,
                                reason="curl is not installed")


def shell_lines() -> Iterator[str]:
    """Logical lines of the README's sh blocks (backslash continuations joined)."""
    with open(README, encoding="utf-8") as f:
        text = f.read()
    for block in re.findall(r"```(?:sh|bash)\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip()
            if "curl" in line and not line.startswith("#"):
                yield line


def _expected_code(line: str) -> int:
    m = re.search(r'#.*"code":(-?\d+)', line)
    return int(m.group(1)) if m else 0


def _run(script: str, env: dict) -> Tuple[str, str]:
    """Run ``script``; its last command is a curl that appends the HTTP status on a line."""
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0, (script, out.stderr)
    body, _, status = out.stdout.rpartition("\n")
    return body, status


def _check(line: str, script: str, env: dict) -> None:
    body, status = _run(script, env)
    assert status == "200", (line, status, body[:300])
    if not body.strip():
        return
    data = json.loads(body)
    if isinstance(data, dict):
        assert "error" not in data, (line, data)
        if "code" in data:
            assert data["code"] == _expected_code(line), (line, data)


def _curl_with_status(line: str) -> str:
    return re.sub(r"^curl ", "curl -sS -w '\\n%{http_code}' ", line)


def test_api_examples_work_against_the_demo_world(tmp_path):
    lines = [ln for ln in shell_lines() if any(h in ln for h in API_HOSTS)]
    assert len(lines) >= 25, "the README lost its API examples"
    live = LiveStack(str(tmp_path), account="demo", receiver=False)
    try:
        api_host, box_host = live.url.split("//")[1], live.sandbox.url.split("//")[1]
        env = {**os.environ, "S": live.sandbox.url}
        assignments: List[str] = []
        last: List[str] = []
        for line in lines:
            line = line.replace("127.0.0.1:5000", api_host).replace("127.0.0.1:9000", box_host)
            if re.match(r"^[A-Z_]+=\$\(", line):
                assignments.append(line)
            elif any(p in line for p in LAST):
                last.append(line)
            else:
                _check(line, "\n".join(assignments + [_curl_with_status(line)]), env)
        relogin, stop = (next(ln for ln in last if p in ln) for p in LAST)
        _check(relogin, _curl_with_status(relogin), env)
        eventually(lambda: live.client.state == "updating", 10)
        assert live.client.wait_for_state("running", 20)
        _check(stop, _curl_with_status(stop), env)
        assert live.stopped.wait(10), "stop_client did not stop the server"
    finally:
        live.close()


def test_sandbox_control_examples_work(tmp_path):
    from openqq_sync.sandbox import SandboxServer

    lines = [ln for ln in shell_lines() if "$S/sandbox" in ln]
    assert len(lines) >= 30, "the README lost its sandbox control examples"
    srv = SandboxServer(world="small", seed=1, port=0, auto_scan=None, auto_confirm=None).start()
    try:
        env = {**os.environ, "S": srv.url}
        for line in lines:
            if '"hang"' in line:      # a real 30 s hang of the next send; nothing sends here
                line = line.replace('"hang": 30', '"hang": 1')
            _check(line, _curl_with_status(line), env)
    finally:
        srv.stop()
