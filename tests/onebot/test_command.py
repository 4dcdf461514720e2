"""``openqq run --backend onebot`` and ``openqq demo --backend onebot`` as real processes, and
the OneBot options from flags, ``OPENQQ_*`` variables and config files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
import requests
from onebot_stack import start_sandbox

from helpers import eventually, free_port, wait_running
from openqq_sync import cli
from stacks import Receiver

OPENQQ = os.path.join(os.path.dirname(sys.executable), "openqq")


def _parse(argv, env=None):
    args = cli.build_parser().parse_args(["run", *argv])
    return cli.load(args, env=env or {})[0]


def test_onebot_options_from_flags_env_and_file(tmp_path):
    config = _parse(["--backend", "onebot", "--onebot-url", "ws://127.0.0.1:3001", "--onebot-token", "abc"])
    assert (config.backend, config.onebot_url, config.onebot_token) == ("onebot", "ws://127.0.0.1:3001", "abc")
    config = _parse([], env={"OPENQQ_BACKEND": "onebot", "OPENQQ_ONEBOT_URL": "ws://10.0.0.2:3001",
                             "OPENQQ_ONEBOT_TOKEN": "env-token", "OPENQQ_ONEBOT_ACTION_TIMEOUT": "5"})
    assert (config.onebot_url, config.onebot_token, config.onebot_action_timeout) == (
        "ws://10.0.0.2:3001", "env-token", 5.0)
    ini = tmp_path / "openqq.ini"
    ini.write_text("[openqq]\nbackend = onebot\nonebot-url = ws://napcat:3001\nonebot_token = f\n", encoding="utf-8")
    config = _parse(["--config", str(ini)])
    assert (config.backend, config.onebot_url, config.onebot_token) == ("onebot", "ws://napcat:3001", "f")


@pytest.mark.parametrize("argv,error", [
    (["--backend", "onebot"], "onebot_url"),
    (["--backend", "onebot", "--onebot-url", "http://127.0.0.1:3001"], "ws://"),
    (["--backend", "onebot", "--onebot-url", "ws://127.0.0.1:3001/api"], "universal endpoint"),
    (["--backend", "onebot", "--onebot-url", "ws://127.0.0.1:3001/event/"], "universal endpoint"),
    (["--backend", "onebot", "--onebot-url", "ws://127.0.0.1:3001/?access_token=x"], "onebot_token"),
    (["--backend", "onebot", "--onebot-url", "ws://h:1", "--onebot-token", "带空格 的"], "ASCII"),
])
def test_bad_onebot_options_are_refused_clearly(argv, error):
    with pytest.raises(ValueError, match=error):
        _parse(argv)


def test_openqq_run_with_the_onebot_backend(tmp_path):
    sandbox = start_sandbox(onebot_token="s3cret")
    recv = Receiver()
    port = free_port()
    proc = subprocess.Popen([OPENQQ, "run", "--backend", "onebot",
                             "--onebot-url", f"ws://127.0.0.1:{sandbox.onebot.port}", "--onebot-token", "s3cret",
                             "--port", str(port), "--tmpdir", str(tmp_path), "--send-interval", "0",
                             "--post-api", recv.url, "--log-level", "warning"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_running(proc, url)
        info = requests.get(url + "/openqq/get_client_info", timeout=5).json()
        assert (info["backend"], info["server"]) == ("onebot", f"ws://127.0.0.1:{sandbox.onebot.port}")
        assert "s3cret" not in json.dumps(info)
        friend = sandbox.world.snapshot()["friends"][0]
        sandbox.world.inject_message("friend_message", friend["uid"], "进程里收到[微笑]")
        eventually(lambda: any(b.get("content") == "进程里收到[微笑]" for b in recv.bodies()))
        answer = requests.get(url + "/openqq/send_friend_message",
                              params={"uid": friend["uid"], "content": "进程里发出"}, timeout=30).json()
        assert answer["code"] == 0
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        recv.close()
        sandbox.stop()


def test_openqq_demo_with_the_onebot_backend(tmp_path):
    port = free_port()
    proc = subprocess.Popen([OPENQQ, "demo", "--backend", "onebot", "--chatter", "0", "--port", str(port),
                             "--tmpdir", str(tmp_path), "--log-level", "warning", "--no-show-message"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_running(proc, url)
        info = requests.get(url + "/openqq/get_client_info", timeout=5).json()
        assert info["backend"] == "onebot" and info["server"].startswith("ws://127.0.0.1:")
        assert len(requests.get(url + "/openqq/get_friend_info", timeout=5).json()) == 20
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "OneBot v11 sandbox on ws://127.0.0.1:" in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
