"""The ``openqq`` command: option sources and precedence, and ``openqq run`` as a real process
(stop_client and SIGTERM end it cleanly; an open API on a public address is refused)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
import requests

from helpers import logged_api_url, wait_running
from openqq_sync import cli
from stacks import Receiver, eventually

OPENQQ = os.path.join(os.path.dirname(sys.executable), "openqq")


def _parse(argv, env=None):
    args = cli.build_parser().parse_args(["run", *argv])
    return cli.load(args, env=env or {})


def test_every_config_option_has_a_flag_env_and_file_key(tmp_path):
    config, explicit = _parse([])
    assert config.port == 5000 and config.host == "127.0.0.1" and explicit == set()
    ini = tmp_path / "openqq.ini"
    ini.write_text("[openqq]\nport = 6001\npost-api = http://file/\npost_event = off\n"
                   "post_event_list = login, stop\nthreads = 50\n", encoding="utf-8")
    env = {"OPENQQ_PORT": "6002", "OPENQQ_POLL_INTERVAL": "2.5", "OPENQQ_POST_STDOUT": "yes",
           "OPENQQ_CONFIG": str(ini)}
    config, explicit = _parse(["--port", "6003", "--no-post-event", "--check-event-list-max-size", "7",
                               "--account", "小号"], env)
    assert config.port == 6003                        # flag beats env beats file
    assert config.poll_interval == 2.5 and config.post_stdout is True
    assert config.post_api == "http://file/" and config.threads == 50
    assert config.post_event is False and config.post_event_list == ["login", "stop"]
    assert config.check_event_list_max_size == 7 and config.account == "小号"
    assert {"port", "poll_interval", "post_api", "account"} <= explicit
    js = tmp_path / "openqq.json"
    js.write_text(json.dumps({"token": "t", "ignore_poll_retcode": [1, 2], "send_interval": 0}), encoding="utf-8")
    config, _ = _parse(["--config", str(js)])
    assert config.token == "t" and config.ignore_poll_retcode == [1, 2] and config.send_interval == 0.0


@pytest.mark.parametrize("content,error", [
    ('{"no_such_option": 1}', "no_such_option"),
    ('{"port": "many"}', "port"),
    ('{"post_event": "perhaps"}', "post_event"),
])
def test_bad_config_files_name_the_key(tmp_path, content, error):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=error):
        _parse(["--config", str(path)])


def test_open_api_on_a_public_address_is_refused(tmp_path):
    r = subprocess.run([OPENQQ, "run", "--host", "0.0.0.0", "--tmpdir", str(tmp_path)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert "--token" in r.stderr and "--allow-no-token" in r.stderr


@pytest.fixture
def run_process(sandbox, tmp_path):
    """Start ``openqq run`` against the sandbox; yields (process, api url, receiver)."""
    procs = []
    recv = Receiver()

    def start(*extra):
        log = tmp_path / f"run-{len(procs)}.log"
        proc = subprocess.Popen([OPENQQ, "run", "--server", sandbox.url, "--port", "0",
                                 "--tmpdir", str(tmp_path), "--send-interval", "0",
                                 "--qrcode-poll-interval", "0.05", "--no-show-qrcode",
                                 "--post-api", recv.url, "--log-level", "info", "--log-path", str(log),
                                 *extra],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(proc)
        url = logged_api_url(lambda: log.read_text(encoding="utf-8") if log.exists() else "", proc)
        wait_running(proc, url)
        return proc, url

    yield start, recv
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    recv.close()


def test_stop_client_ends_the_process_cleanly(run_process, tmp_path):
    start, recv = run_process
    proc, url = start()
    pid_file = tmp_path / "mojo_webqq_pid_default.pid"
    assert pid_file.exists()
    answer = requests.get(url + "/openqq/stop_client", timeout=5).json()
    assert answer["code"] == 0 and answer["pid"] == proc.pid
    assert answer["status"] == f"success, client({proc.pid}) will stop in 3 seconds"
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert not pid_file.exists()
    state = json.loads((tmp_path / "mojo_webqq_state_default.json").read_text(encoding="utf-8"))
    assert state["state"] == "stop"
    # The stop event was delivered to post_api before the process ended.
    assert [b["params"] for b in recv.bodies() if b.get("event") == "stop"] == [[]]
    assert "Traceback" not in err


def test_sigterm_stops_cleanly_and_post_stdout_prints_json_lines(run_process, tmp_path, sandbox):
    start, recv = run_process
    proc, url = start("--post-stdout")
    friend = next(f for f in sandbox.world.snapshot()["friends"] if f["uid"])
    sandbox.world.inject_message("friend_message", friend["uid"], "标准输出")
    eventually(lambda: any(b.get("content") == "标准输出" for b in recv.bodies()))
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert any(x.get("content") == "标准输出" and x["post_type"] == "receive_message" for x in lines)
    assert lines[-1]["event"] == "stop"
    assert not (tmp_path / "mojo_webqq_pid_default.pid").exists()


def test_a_second_client_on_the_same_account_is_refused_quickly(run_process, tmp_path):
    start, _ = run_process
    proc, url = start()
    second = subprocess.run([OPENQQ, "run", "--server", "http://127.0.0.1:9", "--port", "0",
                             "--tmpdir", str(tmp_path), "--no-show-qrcode", "--log-level", "warning"],
                            capture_output=True, text=True, timeout=30)
    assert second.returncode == 1
    assert str(proc.pid) in second.stderr            # the pid file names the running client
    assert requests.get(url + "/openqq/get_client_info", timeout=5).json()["state"] == "running"


@pytest.mark.parametrize("flag", ["--post-api", "--poll-api"])
def test_receiver_urls_must_be_http(tmp_path, flag):
    from openqq_sync import runner
    config, _ = _parse([flag, "ftp://example.com/x", "--tmpdir", str(tmp_path)])
    assert runner.serve(config) == 2
    config, _ = _parse([flag, "example.com/post", "--tmpdir", str(tmp_path)])
    assert runner.serve(config) == 2
