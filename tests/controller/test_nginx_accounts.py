"""Beyond one machine: instances of contrib/systemd/openqq@.service behind
contrib/nginx/openqq-accounts.conf, routed by ``client=NAME``, with real nginx and real
``openqq run`` processes started with the template's environment."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from typing import Dict, List

import pytest
import requests

from helpers import free_port, logged_api_url
from nginxkit import ROOT, TEMP_MODULES, find_nginx
from openqq_sync.cli import build_parser

SITE = os.path.join(ROOT, "contrib", "nginx", "openqq-accounts.conf")
UNIT = os.path.join(ROOT, "contrib", "systemd", "openqq@.service")
NGINX = find_nginx()


def unit_lines(key: str, instance: str) -> List[str]:
    with open(UNIT, encoding="utf-8") as fh:
        return [line.strip()[len(key) + 1:].replace("%i", instance) for line in fh
                if line.startswith(key + "=")]


def test_template_unit_runs_openqq_run_per_instance():
    env = dict(v.partition("=")[::2] for v in unit_lines("Environment", "alice"))
    assert env["OPENQQ_ACCOUNT"] == "alice" and env["OPENQQ_TMPDIR"] == "/var/lib/openqq"
    argv = shlex.split(unit_lines("ExecStart", "alice")[0])
    args = build_parser().parse_args(argv[1:])
    assert args.command == "run" and args.config == "/etc/openqq/alice.ini"
    assert unit_lines("EnvironmentFile", "alice") == ["-/etc/openqq/alice.env"]


def start_instance(name: str, tmpdir: str, server: str) -> subprocess.Popen:
    """``openqq run`` with the template's environment (paths moved into ``tmpdir``) on port 0;
    its log, ``tmpdir/NAME.log``, says where it listens."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENQQ_")}
    for line in unit_lines("Environment", name):
        key, _, value = line.partition("=")
        env[key] = value
    env.update(OPENQQ_TMPDIR=tmpdir, OPENQQ_PORT="0", OPENQQ_SERVER=server, OPENQQ_QRCODE_POLL_INTERVAL="0.2")
    with open(os.path.join(tmpdir, f"{name}.log"), "ab") as log:   # the child keeps its own copy
        return subprocess.Popen([sys.executable, "-m", "openqq_sync.cli", "run"], env=env,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)


def read_log(path: "os.PathLike[str]") -> str:
    if not os.path.exists(path):
        return ""
    with open(path, encoding="utf-8", errors="replace") as fh:
        return fh.read()


def run_nginx(prefix: str, routes: Dict[str, int]) -> "tuple[subprocess.Popen, str]":
    with open(SITE, encoding="utf-8") as fh:
        site = fh.read()
    lines = "".join(f"    {name} 127.0.0.1:{port};\n" for name, port in routes.items())
    site, n_map = re.subn(r"    alice 127\.0\.0\.1:5001;\n    bob 127\.0\.0\.1:5002;\n", lines, site)
    servers = "".join(f"    server 127.0.0.1:{port};\n" for port in routes.values())
    site, n_upstream = re.subn(r"    server 127\.0\.0\.1:5001;\n    server 127\.0\.0\.1:5002;\n", servers, site)
    port = free_port()
    site, n_listen = re.subn(r"listen 80;", f"listen 127.0.0.1:{port};", site)
    assert n_map == 1 and n_upstream == 1 and n_listen == 1, "contrib/nginx/openqq-accounts.conf changed shape"
    for d in ("logs", "temp"):
        os.makedirs(os.path.join(prefix, d), exist_ok=True)
    built = subprocess.run([NGINX, "-V"], capture_output=True, text=True).stderr
    temps = [f"client_body_temp_path {prefix}/temp/body;", f"proxy_temp_path {prefix}/temp/proxy;"] + \
        [f"{m}_temp_path {prefix}/temp/{m};" for m in TEMP_MODULES if f"--without-http_{m}_module" not in built]
    with open(os.path.join(prefix, "site.conf"), "w", encoding="utf-8") as fh:
        fh.write(site)
    conf = os.path.join(prefix, "nginx.conf")
    with open(conf, "w", encoding="utf-8") as fh:
        fh.write("\n".join(["daemon off;", "master_process off;", f"pid {prefix}/logs/nginx.pid;",
                            f"error_log {prefix}/logs/error.log info;", "events { worker_connections 64; }",
                            "http {", f"access_log {prefix}/logs/access.log;", *temps,
                            f"include {prefix}/site.conf;", "}", ""]))
    proc = subprocess.Popen([NGINX, "-p", prefix, "-e", f"{prefix}/logs/error.log", "-c", conf],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, f"http://127.0.0.1:{port}"


def eventually_ok(url: str, timeout: float = 20.0) -> requests.Response:
    # nginx and the instances are other processes with no readiness signal: ask until they answer.
    deadline = time.monotonic() + timeout
    while True:
        try:
            r = requests.get(url, timeout=5)
            if r.status_code == 200 and r.json().get("id"):
                return r
        except (requests.RequestException, ValueError):
            pass
        if time.monotonic() >= deadline:
            raise AssertionError(f"{url} did not answer in {timeout} s")
        time.sleep(0.1)


@pytest.mark.skipif(NGINX is None, reason="nginx not found (apt-get install nginx-light)")
def test_nginx_routes_client_to_its_instance(tmp_path, sandbox2):
    procs = {n: start_instance(n, str(tmp_path), sandbox2.url) for n in ("alice", "bob")}
    nginx = None
    try:
        ports = {n: int(logged_api_url(lambda n=n: read_log(tmp_path / f"{n}.log"), p).rsplit(":", 1)[1])
                 for n, p in procs.items()}
        nginx, url = run_nginx(str(tmp_path / "nginx"), ports)
        alice = eventually_ok(url + "/openqq/get_user_info?client=alice").json()
        bob = eventually_ok(url + "/openqq/get_user_info?client=bob").json()
        qqs = {w.data.account.qq for w in sandbox2.worlds}
        assert {alice["id"], bob["id"]} <= qqs and alice["id"] != bob["id"]
        assert requests.get(url + "/openqq/get_user_info", timeout=5).json() == \
            {"code": 1, "status": "client not found"}
        assert requests.get(url + "/openqq/get_user_info?client=zed", timeout=5).json() == \
            {"code": 1, "status": "client not exists"}
        # The console: the page through its account, its files (fetched without client=) from any.
        page = requests.get(url + "/openqq/console/?client=alice", timeout=5)
        assert page.status_code == 200 and "console.js" in page.text
        for name, kind in (("console.js", "javascript"), ("console.css", "text/css")):
            asset = requests.get(f"{url}/openqq/console/{name}", timeout=5)
            assert asset.status_code == 200 and kind in asset.headers["Content-Type"], name
        r = requests.get(url + "/elsewhere", timeout=5)
        assert r.status_code == 403 and r.json() == {"code": -1, "status": "api not found"}
    except AssertionError as e:
        logs = {p: open(os.path.join(str(tmp_path), p), encoding="utf-8", errors="replace").read()[-3000:]
                for p in ("alice.log", "bob.log", "nginx/logs/error.log") if os.path.exists(tmp_path / p)}
        raise AssertionError(f"{e}\n{logs}") from None
    finally:
        others = [] if nginx is None else [nginx]
        for p in [*others, *procs.values()]:
            p.terminate()
        for p in [*others, *procs.values()]:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
