"""``openqq sandbox --onebot-*``: the options reach the OneBot face, which serves while the command runs."""

from __future__ import annotations

import json

from websockets.sync.client import connect

from openqq_sync.cli import build_parser
from openqq_sync.sandbox import command


def test_command_serves_onebot(capsys):
    args = build_parser().parse_args(["sandbox", "--port", "0", "--onebot-port", "0", "--onebot-token", "t",
                                      "--onebot-heartbeat", "50", "--onebot-message-format", "string"])
    seen = {}

    def serve(srv):
        with connect("ws://127.0.0.1:%d/?access_token=t" % srv.onebot.port, proxy=None) as ws:
            seen["lifecycle"] = json.loads(ws.recv(5))
            seen["heartbeat"] = json.loads(ws.recv(5))
        seen["format"] = srv.onebot.message_format
        raise KeyboardInterrupt
    assert command.run(args, _serve=serve) == 0
    assert seen["lifecycle"]["sub_type"] == "connect"
    assert seen["heartbeat"]["interval"] == 50 and seen["format"] == "string"
    assert "OneBot v11: ws://127.0.0.1:" in capsys.readouterr().out
