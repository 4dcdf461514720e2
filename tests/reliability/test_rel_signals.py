"""SIGTERM / SIGINT on ``openqq run`` (a real subprocess against an in-process sandbox):
state ``stop`` written, pid file removed, pending post_api reports drained for up to 5 s,
every thread joined, exit code 0.

Not repeated here: stop_client ending the process, and SIGTERM with post_stdout
(tests/web/test_web_command.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading

import requests

from helpers import eventually, logged_api_url
from stacks import Receiver

OPENQQ = os.path.join(os.path.dirname(sys.executable), "openqq")


def _start(sandbox, tmp_path, post_api, state="running"):
    log = tmp_path / "run.log"
    proc = subprocess.Popen([OPENQQ, "run", "--server", sandbox.url, "--port", "0",
                             "--tmpdir", str(tmp_path), "--send-interval", "0", "--account", "sig",
                             "--qrcode-poll-interval", "0.05", "--no-show-qrcode", "--no-show-message",
                             "--post-api", post_api, "--log-level", "info", "--log-path", str(log)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def running():
        assert proc.poll() is None, proc.communicate()
        try:
            return requests.get(url + "/openqq/get_client_info", timeout=2).json()["state"] == state
        except requests.RequestException:
            return False
    try:
        url = logged_api_url(lambda: log.read_text(encoding="utf-8") if log.exists() else "", proc)
        eventually(running, timeout=30, interval=0.05)
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    return proc, url


def _files(tmp_path):
    state = json.loads((tmp_path / "mojo_webqq_state_sig.json").read_text(encoding="utf-8"))
    return state, (tmp_path / "mojo_webqq_pid_sig.pid").exists()


def test_sigterm_drains_pending_reports_then_exits_clean(sandbox, tmp_path):
    """The receiver holds its answers until after the signal: every report queued at that
    moment (5 messages, then the stop event) is delivered during the drain, in seq order."""
    gate = threading.Event()

    def respond(req):
        gate.wait(10)
        return 200, {"Content-Type": "text/plain"}, b"ok"

    with Receiver(respond) as recv:
        proc, url = _start(sandbox, tmp_path, recv.url)
        try:
            uid = next(f["uid"] for f in sandbox.world.snapshot(members=False)["friends"] if f["uid"])
            for n in range(5):
                sandbox.world.inject_message("friend_message", uid, f"排队 {n}")
            # All five received by the client (and so queued for post_api) before the signal.
            eventually(lambda: len([i for i in requests.get(url + "/openqq/check_event", params={"since": 0},
                                                            timeout=5).json()
                                    if i.get("post_type") == "receive_message"]) == 5)
            assert recv.requests == []                  # the first POST is still held
            proc.send_signal(signal.SIGTERM)
            gate.set()
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        bodies = recv.bodies()
    assert proc.returncode == 0, err
    contents = [b["content"] for b in bodies if b.get("post_type") == "receive_message"]
    assert contents == [f"排队 {n}" for n in range(5)]
    assert bodies[-1].get("event") == "stop"
    seqs = [b["seq"] for b in bodies]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    state, pid_exists = _files(tmp_path)
    assert state["state"] == "stop" and not pid_exists
    assert "Traceback" not in err and "still running" not in err


def test_sigint_while_the_qr_code_waits_with_the_receiver_down_exits_clean(make_sandbox, tmp_path):
    """SIGINT during the QR login (nobody scans) while post_api is unreachable: the drain
    gives up after 5 s with a count of what was lost; QR file removed too."""
    sandbox = make_sandbox(auto_scan=None, auto_confirm=None)
    probe = Receiver()
    dead_url = probe.url
    probe.close()
    proc, url = _start(sandbox, tmp_path, dead_url, state="scaning")
    try:
        assert (tmp_path / "mojo_webqq_qrcode_sig.png").exists()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "report(s) not delivered to" in err and "at stop" in err
    state, pid_exists = _files(tmp_path)
    assert state["state"] == "stop" and not pid_exists
    assert not (tmp_path / "mojo_webqq_qrcode_sig.png").exists()
    assert "Traceback" not in err and "KeyboardInterrupt" not in err and "still running" not in err
