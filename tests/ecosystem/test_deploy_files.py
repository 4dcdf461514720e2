"""The systemd unit and the example config file: they parse, agree, and `openqq run` serves with them."""

from __future__ import annotations

import configparser
import os
import shlex
import shutil
import signal
import subprocess
import sys

import pytest
import requests

from helpers import eventually, logged_api_url
from nginxkit import ROOT
from openqq_sync import cli
from openqq_sync.cli import build_parser
from openqq_sync.config import Config

UNIT = os.path.join(ROOT, "contrib", "systemd", "openqq.service")
EXAMPLE = os.path.join(ROOT, "contrib", "openqq.example.ini")
ETC_CONFIG = "/etc/openqq/openqq.ini"


def _unit() -> configparser.ConfigParser:
    # systemd allows repeated keys (Environment=); keep the last, collect them separately.
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment]
    with open(UNIT, encoding="utf-8") as fh:
        parser.read_file(fh)
    return parser


def _unit_environment() -> dict:
    env = {}
    with open(UNIT, encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("Environment="):
                key, _, value = line.strip()[len("Environment="):].partition("=")
                env[key] = value
    return env


def test_example_config_reads_into_a_config_with_every_key_known():
    values = cli.read_file(EXAMPLE)           # raises on an unknown key or a bad value
    config = Config(**values)
    assert config.host == "127.0.0.1" and config.port == 5000
    assert config.token is None and config.post_api is None   # empty = unset
    assert config.tmpdir == "/var/lib/openqq"
    # Documented values equal the defaults, so the example never changes behaviour silently.
    defaults = Config()
    for key in ("check_event_timeout", "check_event_list_max_size", "check_event_retention",
                "send_interval", "send_timeout", "threads", "max_event_waiters", "post_event_list", "update_interval"):
        assert getattr(config, key) == getattr(defaults, key), key


def test_systemd_unit_runs_openqq_with_a_writable_home():
    unit = _unit()
    service = unit["Service"]
    argv = shlex.split(service["ExecStart"])
    assert argv[0] == "/opt/openqq/bin/openqq" and argv[1] == "run"
    args = build_parser().parse_args(argv[1:])       # every flag exists (SystemExit otherwise)
    assert args.config == ETC_CONFIG
    home = "/var/lib/" + service["StateDirectory"]
    assert service["WorkingDirectory"] == home
    env = _unit_environment()
    assert env["OPENQQ_TMPDIR"] == home
    # With the unit's environment and the example installed as /etc/openqq/openqq.ini:
    args.config = EXAMPLE
    config, _ = cli.load(args, env=env)
    assert config.tmpdir == home and config.host == "127.0.0.1"
    assert service["EnvironmentFile"].startswith("-")     # optional: no file, no failure
    assert service["User"] == service["Group"] == "openqq"
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_openqq_run_serves_with_the_example_config(sandbox, tmp_path):
    cmd = [sys.executable, "-m", "openqq_sync.cli", "run", "--config", EXAMPLE, "--server", sandbox.url,
           "--port", "0", "--tmpdir", str(tmp_path), "--no-show-qrcode", "--qrcode-poll-interval", "0.05",
           "--log-path", ""]
    log = open(tmp_path / "run.log", "wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=str(tmp_path))
    try:
        api = logged_api_url(lambda: (tmp_path / "run.log").read_text(encoding="utf-8", errors="replace"), proc)
        url = f"{api}/openqq/get_client_info"

        def running():
            try:
                return requests.get(url, timeout=2).json().get("state") == "running"
            except requests.RequestException:
                assert proc.poll() is None, (tmp_path / "run.log").read_text()
                return False

        eventually(running, timeout=20, interval=0.05)
        info = requests.get(url, timeout=5).json()
        assert info["account"] == "default" and info["log_level"] == "info"
        user = requests.get(f"{api}/openqq/get_user_info", timeout=5).json()
        assert user["uid"] == sandbox.world.snapshot()["account"]["uid"]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(15)
        finally:
            log.close()
    assert rc == 0, (tmp_path / "run.log").read_text()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_accepts_the_unit(tmp_path):
    """systemd's own parser: an unknown key or a bad value is reported (and ignored) there."""
    with open(UNIT, encoding="utf-8") as fh:
        # The only host-specific part: the program must exist for verify to pass.
        text = fh.read().replace("/opt/openqq/bin/openqq", os.path.join(os.path.dirname(sys.executable), "openqq"))
    unit = tmp_path / "openqq.service"
    unit.write_text(text, encoding="utf-8")
    r = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and not (r.stdout + r.stderr).strip(), r.stdout + r.stderr
