"""Helpers of the client tests: fast configs, a signal recorder, thread listing."""

from __future__ import annotations

import itertools
import threading
from typing import Any, Callable, Dict, List, Tuple

from openqq_sync import signals
from openqq_sync.client import Client
from openqq_sync.config import Config

_accounts = itertools.count(1)


def fast_config(tmp_path: Any, server: str, **overrides: Any) -> Config:
    """A Config with test-speed intervals and a unique account in ``tmp_path``."""
    options: Dict[str, Any] = dict(
        account=f"t{next(_accounts)}", tmpdir=str(tmp_path), server=server, show_qrcode=False,
        qrcode_poll_interval=0.02, send_interval=0, update_interval=3600,
        ua_request_timeout=10.0, model_update_timeout=5.0, ua_retry_times=2,
        poll_retry_max_delay=0.2,
    )
    options.update(overrides)
    return Config(**options)


class SignalRecorder:
    """Records signals of one client; ``wait(name, pred)`` blocks on a Condition."""

    NAMES = ("state_change", "login", "stop", "relogin", "input_qrcode", "qrcode_expire",
             "receive_message", "send_message", "new_friend", "lose_friend", "new_group",
             "lose_group", "new_group_member", "lose_group_member", "new_discuss", "lose_discuss",
             "new_discuss_member", "lose_discuss_member", "friend_property_change",
             "group_property_change", "group_member_property_change", "discuss_property_change",
             "discuss_member_property_change")

    def __init__(self, client: Client) -> None:
        self.client = client
        self.events: List[Tuple[str, Dict[str, Any]]] = []
        self._cond = threading.Condition()
        self._receivers: List[Tuple[Any, Callable[..., None]]] = []
        for name in self.NAMES:
            sig = getattr(signals, name)

            def receiver(sender: Any, _name: str = name, **kw: Any) -> None:
                with self._cond:
                    self.events.append((_name, kw))
                    self._cond.notify_all()

            sig.connect(receiver, sender=client, weak=False)
            self._receivers.append((sig, receiver))

    def of(self, name: str) -> List[Dict[str, Any]]:
        with self._cond:
            return [kw for n, kw in self.events if n == name]

    def names(self) -> List[str]:
        with self._cond:
            return [n for n, _ in self.events]

    def wait(self, name: str, pred: Callable[[Dict[str, Any]], bool] = lambda kw: True,
             timeout: float = 10.0) -> Dict[str, Any]:
        def found() -> Any:
            for n, kw in self.events:
                if n == name and pred(kw):
                    return (kw,)   # a 1-tuple: an empty payload must count as found
            return None

        with self._cond:
            result = self._cond.wait_for(found, timeout)
        if not result:
            raise AssertionError(f"no {name} signal matching within {timeout} s; got {self.names()}")
        return result[0]

    def close(self) -> None:
        for sig, receiver in self._receivers:
            sig.disconnect(receiver, sender=self.client)




def our_threads(account: str) -> List[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(f"openqq-{account}-")]
