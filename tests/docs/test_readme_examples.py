"""The docs' examples work: run as written against the demo world.

The curl examples of README.md, docs/api.md and docs/sandbox.md name the demo's ports (API
127.0.0.1:5000, sandbox 127.0.0.1:9000 or ``$S``); the tests run the same world (seed 1,
small) on free ports and rewrite only the address. A JSON answer with a ``code`` must carry 0
unless the example's own comment shows another code (the documented failure examples). The
README's Python check_event loop runs as a script until it prints a message injected into
the sandbox.
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
from typing import Iterator, List, Tuple

import pytest

from stacks import LiveStack, eventually

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))
README = os.path.join(ROOT, "README.md")
API_DOC = os.path.join(ROOT, "docs", "api.md")
SANDBOX_DOC = os.path.join(ROOT, "docs", "sandbox.md")
API_HOSTS = ("127.0.0.1:5000", "127.0.0.1:9000")
LAST = ("/openqq/relogin", "/openqq/stop_client")

needs_curl = pytest.mark.skipif(subprocess.run(["sh", "-c", "command -v curl"],
                                               capture_output=True).returncode != 0,
                                reason="curl is not installed")


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def shell_lines(*paths: str) -> Iterator[str]:
    """Logical lines of the files' sh blocks that run curl (backslash continuations joined)."""
    for path in paths:
        for block in re.findall(r"```(?:sh|bash)\n(.*?)```", _read(path), re.S):
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


@needs_curl
def test_api_examples_work_against_the_demo_world(tmp_path):
    lines = [ln for ln in shell_lines(README, API_DOC, SANDBOX_DOC) if any(h in ln for h in API_HOSTS)]
    assert len(lines) >= 30, "the docs lost their API examples"
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


@needs_curl
def test_sandbox_control_examples_work(tmp_path):
    from openqq_sync.sandbox import SandboxServer

    lines = [ln for ln in shell_lines(SANDBOX_DOC) if "$S/sandbox" in ln]
    assert len(lines) >= 30, "docs/sandbox.md lost its control examples"
    srv = SandboxServer(world="small", seed=1, port=0, auto_scan=None, auto_confirm=None).start()
    try:
        env = {**os.environ, "S": srv.url}
        for line in lines:
            if '"hang"' in line:      # a real 30 s hang of the next send; nothing sends here
                line = line.replace('"hang": 30', '"hang": 1')
            _check(line, _curl_with_status(line), env)
    finally:
        srv.stop()


def _quickstart_loop() -> str:
    blocks = [b for b in re.findall(r"```python\n(.*?)```", _read(README), re.S) if "check_event" in b]
    assert len(blocks) == 1, "the README quickstart lost its check_event loop"
    return blocks[0]


def test_the_readme_check_event_loop_prints_an_incoming_message(tmp_path):
    live = LiveStack(str(tmp_path), account="demo", receiver=False)
    script = _quickstart_loop().replace("http://127.0.0.1:5000", live.url)
    proc = subprocess.Popen([sys.executable, "-u", "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, encoding="utf-8",
                            env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    lines: "queue.Queue[str]" = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(ln) for ln in proc.stdout],
                              name="docs-quickstart-reader", daemon=True)
    reader.start()
    try:
        assert lines.get(timeout=20).split()[0] == "1", "the loop did not start from the first report"
        live.sandbox.world.inject_message("friend_message", 215804065, "快速入门 quickstart")
        while True:
            line = lines.get(timeout=20)
            if "快速入门 quickstart" in line:
                break
        seq, post_type, sender = line.split()[:3]
        assert (post_type, sender) == ("receive_message", "叶桂"), line
        assert int(seq) > 1
    finally:
        proc.kill()
        proc.wait(10)
        reader.join(10)
        err = proc.stderr.read()
        live.close()
    assert "Traceback" not in err, err


# --- the shape of the docs --------------------------------------------------------------

DOCS = [README] + sorted(os.path.join(ROOT, "docs", f) for f in os.listdir(os.path.join(ROOT, "docs"))
                         if f.endswith(".md"))


def test_readme_is_short_and_starts_with_the_two_commands():
    lines = _read(README).splitlines()
    assert len(lines) <= 150, f"README.md has {len(lines)} lines; the rest belongs in docs/"
    assert lines[0].startswith("# ")
    first_block = _read(README).split("```", 2)[1]
    assert first_block.startswith("sh\n") and _read(README).index("```") < 80, \
        "the README's first lines must be its commands"
    commands = [ln.split("#")[0].strip() for ln in first_block.splitlines()[1:] if ln.strip()]
    assert commands == ["make run", "make test"]


def _relative_links(path: str) -> Iterator[str]:
    text = re.sub(r"```.*?```", "", _read(path), flags=re.S)   # code blocks hold no links
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if not re.match(r"^[a-z]+:|^#", target):
            yield target.split("#")[0]


@pytest.mark.parametrize("path", DOCS, ids=lambda p: os.path.relpath(p, ROOT))
def test_every_relative_link_points_at_an_existing_file(path):
    links = list(_relative_links(path))
    missing = [t for t in links if not os.path.exists(os.path.join(os.path.dirname(path), t))]
    assert missing == [], f"{os.path.relpath(path, ROOT)} links to missing files: {missing}"


def test_the_link_check_sees_links():
    assert "docs/api.md" in set(_relative_links(README))
