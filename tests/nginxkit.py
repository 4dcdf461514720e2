"""Run Debian's nginx in the foreground with the shipped site config, all files in a tmp dir."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from typing import List, Optional

from helpers import free_port

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir))
SITE = os.path.join(ROOT, "contrib", "nginx", "openqq.conf")
TEMP_MODULES = ("fastcgi", "uwsgi", "scgi")


def find_nginx() -> Optional[str]:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None)


def site_for(backend: str, port: int) -> str:
    """The shipped site with its upstream pointed at ``backend`` and listening on ``port``."""
    with open(SITE, encoding="utf-8") as fh:
        text = fh.read()
    text, n_up = re.subn(r"server 127\.0\.0\.1:5000;", f"server {backend};", text)
    text, n_listen = re.subn(r"listen 80;", f"listen 127.0.0.1:{port};", text)
    assert n_up == 1 and n_listen == 1, "contrib/nginx/openqq.conf changed shape: adjust nginxkit"
    return text


class Nginx:
    """nginx -p PREFIX -c nginx.conf, daemon off, one process; stopped by its pid."""

    def __init__(self, executable: str, prefix: str, backend: str) -> None:
        self.prefix = prefix
        self.port = free_port()
        os.makedirs(os.path.join(prefix, "logs"), exist_ok=True)
        os.makedirs(os.path.join(prefix, "temp"), exist_ok=True)
        with open(os.path.join(prefix, "openqq.conf"), "w", encoding="utf-8") as fh:
            fh.write(site_for(backend, self.port))
        built = subprocess.run([executable, "-V"], capture_output=True, text=True).stderr
        temp_paths: List[str] = [f"client_body_temp_path {prefix}/temp/body;",
                                 f"proxy_temp_path {prefix}/temp/proxy;"]
        # Each compiled-in module wants its temp dir; the packaged defaults are in /var/lib.
        temp_paths += [f"{m}_temp_path {prefix}/temp/{m};" for m in TEMP_MODULES
                       if f"--without-http_{m}_module" not in built]
        self.error_log = os.path.join(prefix, "logs", "error.log")
        conf = "\n".join([
            "daemon off;",
            # One process: no worker to switch to another user that could not read tmp_path.
            "master_process off;",
            f"pid {prefix}/logs/nginx.pid;",
            f"error_log {self.error_log} info;",
            "events { worker_connections 256; }",
            "http {",
            f"    access_log {prefix}/logs/access.log;",
            *("    " + p for p in temp_paths),
            f"    include {prefix}/openqq.conf;",
            "}", ""])
        self.conf = os.path.join(prefix, "nginx.conf")
        with open(self.conf, "w", encoding="utf-8") as fh:
            fh.write(conf)
        self.proc = subprocess.Popen([executable, "-p", prefix, "-e", self.error_log, "-c", self.conf],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(prefix, "logs", "stderr.log"), "wb"))
        self.url = f"http://127.0.0.1:{self.port}"
        self._wait_listening(10.0)

    def _wait_listening(self, timeout: float) -> None:
        # nginx has no readiness signal in the foreground: try to connect until it listens.
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited {self.proc.returncode}: {self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError as e:
                if time.monotonic() >= deadline:
                    self.stop()
                    raise RuntimeError(f"nginx did not listen on {self.port}: {self.log()}") from e
                time.sleep(0.02)

    def log(self) -> str:
        out = []
        for name in ("stderr.log", "error.log"):
            path = os.path.join(self.prefix, "logs", name)
            if os.path.exists(path):
                with open(path, encoding="utf-8", errors="replace") as fh:
                    out.append(fh.read()[-2000:])
        return "\n".join(out)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()       # SIGTERM: fast shutdown
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
