"""ShowMsg builds a line only when its logger would log it."""

import logging

from openqq_sync import terminal as showmsg
from openqq_sync.model import Message


def test_no_line_is_built_when_info_is_off(monkeypatch, caplog):
    built = []
    monkeypatch.setattr(showmsg, "format_message", lambda msg: built.append(msg) or "line")
    logger = logging.getLogger("test.showmsg.quiet")
    shower = showmsg.ShowMsg(client=None, logger=logger)
    msg = Message("friend_message", "send", id=1)
    logger.setLevel(logging.WARNING)
    shower._on_message(None, msg=msg)
    assert built == []
    logger.setLevel(logging.INFO)
    with caplog.at_level(logging.INFO, logger="test.showmsg.quiet"):
        shower._on_message(None, msg=msg)
    assert built == [msg] and "line" in caplog.text
