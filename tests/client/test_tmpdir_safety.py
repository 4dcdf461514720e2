"""The tmpdir against other local users (issue 17, Files): a private default directory, and
files planted by someone else (another uid, a symlink, a FIFO) refused, never read or trusted.

"Another user" is made by chown-ing a file to uid 65534, which only root can do: those tests
are skipped for other users.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import stat
import subprocess
import sys
import tempfile

import pytest

from openqq_sync import cli
from openqq_sync.client import files
from openqq_sync.config import Config

OTHER = 65534
as_root = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                             reason="planting another user's file needs root (chown)")


def _plant(path, data=b"ATTACKER", uid=OTHER, mode=0o644):
    with open(path, "wb") as fh:
        fh.write(data)
    os.chmod(path, mode)
    os.chown(path, uid, uid)


def _shared_dir(tmp_path):
    """A directory like /tmp: world-writable and sticky."""
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    return shared


# --- the default tmpdir ------------------------------------------------------------------
def test_default_tmpdir_is_the_users_own(tmp_path, monkeypatch):
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    assert Config().tmpdir == str(runtime / "openqq")
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    assert Config().tmpdir == str(tmp_path / f"openqq-{os.geteuid()}")
    files.ensure_tmpdir(Config().tmpdir, private=True)
    st = os.lstat(Config().tmpdir)
    assert stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o700 and st.st_uid == os.geteuid()
    files.ensure_tmpdir(Config().tmpdir, private=True)      # a second start accepts it


def test_a_runtime_dir_open_to_others_is_not_used(tmp_path, monkeypatch):
    runtime = tmp_path / "run"
    runtime.mkdir()
    os.chmod(runtime, 0o755)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    assert Config().tmpdir == str(tmp_path / f"openqq-{os.geteuid()}")


def test_private_tmpdir_refuses_symlink_and_loose_mode(tmp_path):
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    link = tmp_path / "link"
    link.symlink_to(real)
    with pytest.raises(files.UnsafeFileError, match="symlink"):
        files.ensure_tmpdir(str(link), private=True)
    loose = tmp_path / "loose"
    loose.mkdir()
    os.chmod(loose, 0o755)
    with pytest.raises(files.UnsafeFileError, match="chmod 700"):
        files.ensure_tmpdir(str(loose), private=True)
    # An explicit --tmpdir may be any directory of the user's choice (files are checked one by one).
    files.ensure_tmpdir(str(loose), private=False)
    files.ensure_tmpdir(str(link), private=False)


@as_root
def test_private_tmpdir_of_another_user_is_refused(tmp_path):
    planted = tmp_path / f"openqq-{os.geteuid()}"
    planted.mkdir(mode=0o700)
    os.chown(planted, OTHER, OTHER)
    with pytest.raises(files.UnsafeFileError, match=f"uid {OTHER}"):
        files.ensure_tmpdir(str(planted), private=True)


# --- single files -------------------------------------------------------------------------
def test_write_private_never_follows_a_symlink(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    path = tmp_path / "mojo_webqq_cookie_x.dat"
    path.symlink_to(victim)
    with pytest.raises(files.UnsafeFileError, match="symlink"):
        files.write_private(str(path), b"[]")
    assert victim.read_text() == "precious" and os.path.islink(path)
    with pytest.raises(files.UnsafeFileError, match="symlink"):
        files.read_private(str(path))


def test_read_private_refuses_a_fifo_without_blocking(tmp_path):
    fifo = tmp_path / "mojo_webqq_pid_x.pid"
    os.mkfifo(fifo)
    with pytest.raises(files.UnsafeFileError, match="not a regular file"):
        files.read_private(str(fifo))


def test_write_private_is_0600_in_a_fresh_file(tmp_path):
    path = tmp_path / "f"
    files.write_private(str(path), b"one")
    files.write_private(str(path), b"two")
    assert path.read_bytes() == b"two" and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert sorted(os.listdir(tmp_path)) == ["f"]             # no temp file left behind


@as_root
def test_another_users_file_is_neither_read_nor_overwritten(tmp_path):
    path = str(tmp_path / "mojo_webqq_cookie_x.dat")
    _plant(path, b'[{"name": "skey", "value": "attacker"}]', mode=0o666)
    with pytest.raises(files.UnsafeFileError, match=f"owned by uid {OTHER}"):
        files.read_private(path)
    with pytest.raises(files.UnsafeFileError, match=f"owned by uid {OTHER}"):
        files.write_private(path, b"secret cookies")
    assert open(path, "rb").read() == b'[{"name": "skey", "value": "attacker"}]'


@as_root
def test_a_planted_pid_file_is_ignored_with_a_log_line(tmp_path, caplog):
    path = str(tmp_path / "mojo_webqq_pid_x.pid")
    _plant(path, b"1")                                       # pid 1 is alive
    with caplog.at_level(logging.WARNING, logger="openqq_sync.client.files"):
        assert files.claim_pid_file(path) == os.getpid()
    assert "ignoring the pid file" in caplog.text and f"owned by uid {OTHER}" in caplog.text


@as_root
def test_eperm_from_kill_is_another_users_process(request):
    """A child switched to uid 65534, where kill(1, 0) answers EPERM: pid 1 is not ours."""
    # Not under tmp_path: pytest's base directory is root's alone, closed to uid 65534.
    own = tempfile.mkdtemp(prefix="openqq-eperm-")
    request.addfinalizer(lambda: shutil.rmtree(own, ignore_errors=True))
    os.chown(own, OTHER, OTHER)
    path = os.path.join(own, "mojo_webqq_pid_x.pid")
    child = os.fork()
    if child == 0:      # the child only switches uid, claims, and leaves at once
        ok = False
        try:
            os.setgid(OTHER)
            os.setuid(OTHER)
            with open(path, "w") as fh:
                fh.write("1")
            ok = files.claim_pid_file(path) == os.getpid() and open(path).read() == str(os.getpid())
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0


# --- a whole client in a shared directory with planted files ------------------------------
@as_root
def test_client_in_a_shared_dir_trusts_no_planted_file(sandbox, make_client, tmp_path, caplog):
    shared = _shared_dir(tmp_path)
    account = "victim"
    qr = shared / f"mojo_webqq_qrcode_{account}.png"
    cookie = shared / f"mojo_webqq_cookie_{account}.dat"
    pid = shared / f"mojo_webqq_pid_{account}.pid"
    _plant(qr, b"ATTACKER-QR-PNG")
    _plant(cookie, json.dumps([{"name": "skey", "value": "attacker", "domain": ".qq.com"}]).encode(),
           mode=0o666)
    _plant(pid, b"1")
    with caplog.at_level(logging.INFO):
        client, rec = make_client(sandbox.url, account=account, tmpdir=str(shared))
        assert client.wait_for_state("running", 20), client.error
        client.stop()
    log = caplog.text
    # The planted pid file did not stop the start; the planted cookies were not loaded.
    assert "ignoring the pid file" in log
    assert "loaded saved cookies" not in log and "restored the saved session" not in log
    assert f"refusing {cookie}" in log
    # The planted QR file is never announced as ours to scan.
    assert "QR code saved" not in log and "do NOT scan that file" in log
    # Nothing of the attacker's was overwritten, and no secret went into their files.
    assert qr.read_bytes() == b"ATTACKER-QR-PNG"
    assert json.loads(cookie.read_bytes())[0]["value"] == "attacker"
    assert pid.read_bytes() == b"1"


def test_cookie_symlink_is_not_followed_by_a_running_client(sandbox, make_client, tmp_path, caplog):
    own = tmp_path / "own"
    own.mkdir(mode=0o700)
    victim = tmp_path / "bashrc"
    victim.write_text("precious")
    account = "linked"
    (own / f"mojo_webqq_cookie_{account}.dat").symlink_to(victim)
    with caplog.at_level(logging.INFO):
        client, _ = make_client(sandbox.url, account=account, tmpdir=str(own))
        assert client.wait_for_state("running", 20), client.error
        client.stop()
    assert victim.read_text() == "precious"
    assert "a symlink" in caplog.text and "QR code saved" in caplog.text


# --- secrets out of the command line ----------------------------------------------------
def test_secrets_from_a_file_or_the_environment(tmp_path):
    token = tmp_path / "token"
    token.write_text("令牌-S3cret\n", encoding="utf-8")
    secret = tmp_path / "secret"
    secret.write_text("post-key")
    parser = cli.build_parser()
    args = parser.parse_args(["run", "--token-file", str(token)])
    config, explicit = cli.load(args, env={"OPENQQ_POST_SECRET_FILE": str(secret)})
    assert config.token == "令牌-S3cret" and config.post_secret == "post-key"
    assert {"token", "post_secret"} <= explicit
    config, _ = cli.load(parser.parse_args(["run"]), env={"OPENQQ_TOKEN": "from-env"})
    assert config.token == "from-env"
    token.write_text("")
    with pytest.raises(ValueError, match="token_file"):
        cli.load(args, env={})


def test_help_says_where_secrets_belong():
    out = subprocess.run([sys.executable, "-m", "openqq_sync", "run", "--help"], capture_output=True,
                         text=True, timeout=60, env={**os.environ, "COLUMNS": "200"})
    assert "--token-file PATH" in out.stdout and "--post-secret-file PATH" in out.stdout
    assert "OPENQQ_TOKEN" in out.stdout and "ps" in out.stdout
