"""The floors that talk SmartQQ directly: a bare login, then plain poll2 / send calls.

Uses the project's protocol layer only to log in; the measured loops are plain requests.
"""

from __future__ import annotations

import json
import tempfile
import threading

import requests

from openqq_sync.config import Config
from openqq_sync.backends.smartqq.login import LoginFlow
from openqq_sync.backends.smartqq.transport import Transport

R_D = "http://d1.web2.qq.com/proxy.html?v=20151105001&callback=1&id=2"
FONT = {"name": "宋体", "size": 10, "style": [0, 0, 0], "color": "000000"}


class RawSession:
    """A logged-in SmartQQ session on the sandbox, without the Client's threads."""

    def __init__(self, sandbox_url: str):
        self.config = Config(server=sandbox_url, tmpdir=tempfile.mkdtemp(prefix="bench-raw-"),
                             show_qrcode=False)
        self.transport = Transport(self.config)
        flow = LoginFlow(self.transport, self.config)
        flow.prepare()
        flow.fetch_qrcode()
        while True:
            status = flow.check_qrcode()
            if status.code == 0:
                break
            if status.code not in (66, 67):
                raise RuntimeError(f"QR login failed: {status}")
        flow.check_sig(status.check_sig_url)
        vfwebqq = flow.get_vfwebqq(None)
        creds = flow.login2(self.transport.cookie("ptwebqq"), None)
        self.creds = creds
        self.vfwebqq = vfwebqq
        self.session = self.transport.new_session()
        self.sandbox_url = sandbox_url.rstrip("/")
        self._plain = threading.local()

    def poll_body(self) -> dict:
        return {"r": json.dumps({"ptwebqq": self.creds.ptwebqq, "clientid": self.creds.clientid,
                                 "psessionid": self.creds.psessionid, "key": ""})}

    def poll(self, timeout: float = 60) -> dict:
        r = self.transport.request("POST", "http://d1.web2.qq.com/channel/poll2", session=self.session,
                                   form=self.poll_body(), referer=R_D, timeout=timeout)
        return r.json()

    def send_friend(self, friend_id: int, text: str, msg_id: int) -> dict:
        content = json.dumps([text, ["font", {"name": "宋体", "size": 10, "style": [0, 0, 0],
                                              "color": "000000"}]], ensure_ascii=False)
        r = {"to": friend_id, "face": 570, "content": content, "msg_id": msg_id,
             "clientid": self.creds.clientid, "psessionid": self.creds.psessionid}
        resp = self.transport.request("POST", "http://d1.web2.qq.com/channel/send_buddy_msg2",
                                      session=self.session, referer=R_D,
                                      form={"r": json.dumps(r, ensure_ascii=False)}, timeout=30)
        return resp.json()

    def _plain_session(self) -> requests.Session:
        session = getattr(self._plain, "session", None)
        if session is None:
            session = self._plain.session = requests.Session()
            cookies = "; ".join(f"{c.name}={c.value}" for c in self.transport.cookies
                                if c.domain in (".qq.com", ".web2.qq.com", "d1.web2.qq.com"))
            session.headers.update({"Cookie": cookies, "Referer": R_D, "Host": "d1.web2.qq.com"})
        return session

    def _plain_send(self, endpoint: str, target_key: str, target: int, face: int, content: list,
                    msg_id: int) -> dict:
        # The ``r`` object exactly as protocol/send.py builds it: target, face, content (the
        # items, then the font last), msg_id, clientid, psessionid; compact JSON, raw UTF-8.
        items = json.dumps([*content, ["font", FONT]], ensure_ascii=False, separators=(",", ":"))
        r = {target_key: target, "face": face, "content": items, "msg_id": msg_id,
             "clientid": self.creds.clientid, "psessionid": self.creds.psessionid}
        resp = self._plain_session().post(
            self.sandbox_url + "/channel/" + endpoint,
            data={"r": json.dumps(r, ensure_ascii=False, separators=(",", ":"))}, timeout=30)
        resp.raise_for_status()
        return resp.json()

    def plain_send_friend(self, friend_id: int, content: list, msg_id: int, face: int = 570) -> dict:
        """A send_buddy_msg2 from a plain ``requests`` Session per thread (the sends floor): the
        login's cookies as one fixed Cookie header, posted straight to the sandbox.

        :param content: the content items before the font (text, ``["face", n]``).
        """
        return self._plain_send("send_buddy_msg2", "to", friend_id, face, content, msg_id)

    def plain_send_group(self, group_id: int, content: list, msg_id: int, face: int = 591) -> dict:
        """The same for send_qun_msg2 (the floor of send_group_message)."""
        return self._plain_send("send_qun_msg2", "group_uin", group_id, face, content, msg_id)
