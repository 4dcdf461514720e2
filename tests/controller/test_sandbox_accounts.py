"""``openqq sandbox --accounts N``: one address, N seeded worlds, a new QR code for the next
account not logged in (or the reserved one), later requests by their cookies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
import requests

from openqq_sync.cli import build_parser
from openqq_sync.sandbox.accounts import MultiSandbox
from openqq_sync.sandbox.command import build_server


def qr_session(url: str, qrsig: str = "") -> str:
    """GET /ptqrshow (with a qrsig cookie if given, as the client's jar would send it); the new qrsig."""
    headers = {"Cookie": f"qrsig={qrsig}"} if qrsig else {}
    r = requests.get(url + "/ptqrshow", headers=headers, timeout=5)
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/png"
    return r.headers["Set-Cookie"].split(";", 1)[0].split("=", 1)[1]


def test_accounts_list_control_and_qr_assignment():
    with MultiSandbox(3, seed=11, port=0, auto_scan=None, auto_confirm=None) as srv:
        listed = requests.get(srv.url + "/sandbox/accounts", timeout=5).json()["accounts"]
        assert [a["index"] for a in listed] == [1, 2, 3]
        assert [a["qq"] for a in listed] == [w.data.account.qq for w in srv.worlds]
        assert len({a["qq"] for a in listed}) == 3 and not any(a["logged_in"] for a in listed)
        # Per-account control API, by index or by QQ number.
        by_qq = requests.get(f"{srv.url}/sandbox/accounts/{listed[1]['qq']}/status", timeout=5).json()
        assert by_qq["account_uid"] == listed[1]["qq"]
        assert requests.get(srv.url + "/sandbox/accounts/9/status", timeout=5).status_code == 404
        # Reserved first, then the first free one; a QR session keeps its account.
        requests.post(srv.url + "/sandbox/accounts/3/next", timeout=5).raise_for_status()
        third = qr_session(srv.url)
        first = qr_session(srv.url)
        assert srv.worlds[2].status()["qrcodes_pending"] == 1
        assert srv.worlds[0].status()["qrcodes_pending"] == 1
        qr_session(srv.url, third)                         # a new code for the same session
        assert srv.worlds[2].status()["qrcodes_pending"] == 2
        second = qr_session(srv.url)
        assert srv.worlds[1].status()["qrcodes_pending"] == 1
        # Every account is logged in or showing a code: a fourth session has none to get.
        r = requests.get(srv.url + "/ptqrshow", timeout=5)
        assert r.status_code == 503 and "every sandbox account" in r.json()["error"]
        assert first and second


def test_sandbox_command_builds_many_accounts():
    args = build_parser().parse_args(["sandbox", "--accounts", "4", "--port", "0"])
    srv = build_server(args)
    assert isinstance(srv, MultiSandbox) and len(srv.worlds) == 4
    single = build_server(build_parser().parse_args(["sandbox", "--port", "0"]))
    assert not isinstance(single, MultiSandbox)


def test_openqq_sandbox_accounts_serves_until_sigterm():
    # The command itself, as the controller's users start it (an in-process build missed a crash).
    exe = os.path.join(os.path.dirname(sys.executable), "openqq")
    proc = subprocess.Popen([exe, "sandbox", "--accounts", "2", "--port", "0", "--log-level", "warning"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("SmartQQ sandbox on http://127.0.0.1:"), first
        url = first.split()[3]
        assert len(requests.get(url + "/sandbox/accounts", timeout=5).json()["accounts"]) == 2
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0 and "Traceback" not in err, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_openqq_sandbox_refuses_accounts_with_onebot():
    with pytest.raises(SystemExit, match="SmartQQ only"):
        build_server(build_parser().parse_args(["sandbox", "--accounts", "2", "--onebot-port", "0"]))
