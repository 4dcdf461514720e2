"""tmpdir files (protocol doc 12), the terminal QR renderer, ShowMsg lines and the state cell."""

import io
import json
import os
import stat
import subprocess
import sys
import threading

import pytest
import qrcode
from qrcode.image.pure import PyPNGImage

from openqq_sync import terminal
from openqq_sync.client import files
from openqq_sync.client.state import ClientState, StateCell
from openqq_sync.config import Config
from openqq_sync.model import Friend, Group, GroupMember, Message, User
from openqq_sync.terminal import format_message


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_pid_file_refuses_live_and_replaces_stale(tmp_path):
    path = str(tmp_path / "p.pid")
    assert files.claim_pid_file(path) == os.getpid()
    assert open(path).read() == str(os.getpid()) and _mode(path) == 0o600
    with pytest.raises(files.PidFileError):
        files.claim_pid_file(path)
    # A pid that no longer exists: a finished child process.
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    dead = int(child.stdout)
    with open(path, "w") as fh:
        fh.write(str(dead))
    assert files.claim_pid_file(path) == os.getpid()
    files.release_pid_file(path)
    assert not os.path.exists(path)


def test_state_file_fields(tmp_path):
    config = Config(account="测试", tmpdir=str(tmp_path))
    sf = files.StateFile(config, start_time=1514880000, pid=4242)
    sf.write("init", None)
    sf.write("loading", "init")
    doc = json.loads(open(config.state_path, encoding="utf-8").read())
    for key in ("account", "version", "start_time", "mode", "http_debug", "log_encoding", "log_path",
                "log_level", "log_console", "disable_color", "tmpdir", "cookie_path", "qrcode_path",
                "pid_path", "state_path", "keep_cookie", "ua_retry_times", "qrcode_count_max",
                "state", "previous_state", "pid", "os", "plugin"):
        assert key in doc, key
    assert doc["account"] == "测试" and doc["state"] == "loading" and doc["previous_state"] == "init"
    assert _mode(config.state_path) == 0o600


def test_save_qrcode_private(tmp_path):
    path = str(tmp_path / "q.png")
    files.save_qrcode(path, b"one")
    files.save_qrcode(path, b"two")
    assert open(path, "rb").read() == b"two" and _mode(path) == 0o600
    assert files.remove_quietly(path) and not files.remove_quietly(path)


def _qr_png(data, box_size):
    buf = io.BytesIO()
    qrcode.make(data, image_factory=PyPNGImage, box_size=box_size, border=4).save(buf)
    return buf.getvalue()


@pytest.mark.parametrize("box_size", [1, 3, 8])
def test_qrterm_samples_the_modules(box_size):
    qr = qrcode.QRCode(border=0)
    qr.add_data("https://ssl.ptlogin2.qq.com/ptqrshow?扫码")
    qr.make()
    expected = qr.get_matrix()
    png = _qr_png("https://ssl.ptlogin2.qq.com/ptqrshow?扫码", box_size)
    assert terminal.modules(png) == expected
    text = terminal.render_qrcode(png, border=1)
    lines = text.splitlines()
    assert len(lines) == (len(expected) + 2 + 1) // 2
    assert all(len(line) == len(expected) + 2 for line in lines)
    assert set(text) <= set("█▀▄ \n")


def test_qrterm_blank_image():
    import png as pypng
    buf = io.BytesIO()
    pypng.Writer(4, 4, greyscale=True).write(buf, [[255] * 4] * 4)
    assert terminal.render_qrcode(buf.getvalue()) == ""


def test_showmsg_lines():
    user = User(id=1, name="我")
    group = Group(id=2, name="群<&>")
    member = GroupMember(id=3, name="灰灰", card=None)
    recv = Message("group_message", "recv", id=1, time=0, content="你好 🐧", sender=member,
                   group=group, receiver=user)
    assert format_message(recv).endswith("[群消息] 灰灰|群<&> : 你好 🐧")
    friend = Friend(id=4, name="张三", category="朋友")
    assert format_message(Message("friend_message", "recv", id=2, time=0, content="x",
                                  sender=friend)).endswith("[好友消息] 张三|朋友 : x")
    sent = Message("friend_message", "send", id=3, time=0, content="y", sender=user, receiver=friend)
    sent.set_status(-1, "发送失败", "数据格式错误")
    assert format_message(sent).endswith("[好友消息] 我->张三 : y [发送失败(数据格式错误)]")
    sess = Message("sess_message", "recv", id=4, time=0, content="z", via="discuss", sender=friend)
    assert "[讨论组临时消息]" in format_message(sess)


def test_state_cell_waits_and_stop_is_final():
    cell = StateCell()
    assert cell.set(ClientState.INIT) is None
    t = threading.Timer(0.01, cell.set, args=(ClientState.RUNNING,))
    t.start()
    assert cell.wait_for(lambda s: s == ClientState.RUNNING, 5)
    t.join()
    assert cell.set(ClientState.STOP) == (ClientState.RUNNING, ClientState.STOP)
    assert cell.set(ClientState.RUNNING) is None and cell.value == ClientState.STOP
    assert not cell.wait_for(lambda s: s == ClientState.RUNNING, 0.01)
