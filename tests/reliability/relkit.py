"""Helpers of the reliability tests (imported by name: ``relkit`` is unique among the test
directories, unlike ``conftest``)."""

from __future__ import annotations

import itertools
import threading
from typing import Any, Callable, Dict, List, Tuple

from openqq_sync import signals
from openqq_sync.client import Client
from openqq_sync.config import Config
from openqq_sync.sandbox import SandboxServer

_accounts = itertools.count(1)

SIGNALS = ("state_change", "login", "stop", "relogin", "input_qrcode", "receive_message", "send_message")


class Recorder:
    """Records one client's signals; ``wait(name, pred)`` blocks on a Condition."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.events: List[Tuple[str, Dict[str, Any]]] = []
        self._cond = threading.Condition()
        self._hooks: List[Tuple[Any, Callable[..., None]]] = []
        for name in SIGNALS:
            def hook(sender: Any, _name: str = name, **kw: Any) -> None:
                with self._cond:
                    self.events.append((_name, kw))
                    self._cond.notify_all()
            sig = getattr(signals, name)
            sig.connect(hook, sender=client, weak=False)
            self._hooks.append((sig, hook))

    def of(self, name: str) -> List[Dict[str, Any]]:
        with self._cond:
            return [kw for n, kw in self.events if n == name]

    def count(self, name: str) -> int:
        return len(self.of(name))

    def wait(self, name: str, pred: Callable[[Dict[str, Any]], bool] = lambda kw: True,
             timeout: float = 15.0, after: int = 0) -> Dict[str, Any]:
        """The first ``name`` signal matching ``pred`` among those after the first ``after``
        of that name."""
        def found() -> Any:
            seen = [kw for n, kw in self.events if n == name][after:]
            return next(((kw,) for kw in seen if pred(kw)), None)

        with self._cond:
            result = self._cond.wait_for(found, timeout)
        if not result:
            raise AssertionError(f"no matching {name} within {timeout} s; states "
                                 f"{[kw.get('new') for kw in self.of('state_change')]}")
        return result[0]

    def close(self) -> None:
        for sig, hook in self._hooks:
            sig.disconnect(hook, sender=self.client)


def fast_config(tmpdir: str, server: str, **overrides: Any) -> Config:
    """Test-speed intervals: backoff cap 0.2 s, 2 attempts per request, no pacing."""
    options: Dict[str, Any] = dict(
        account=f"rel{next(_accounts)}", tmpdir=tmpdir, server=server, show_qrcode=False,
        qrcode_poll_interval=0.02, send_interval=0, update_interval=3600, ua_connect_timeout=2.0,
        ua_request_timeout=10.0, model_update_timeout=5.0, ua_retry_times=2, poll_retry_max_delay=0.2)
    options.update(overrides)
    return Config(**options)


def friend_uid(srv: SandboxServer, index: int = 0) -> int:
    return srv.world.snapshot(members=False)["friends"][index]["uid"]


def protocol_thread_alive(client: Client) -> bool:
    name = f"openqq-{client.config.account}-poll"
    return any(t.name == name and t.is_alive() for t in threading.enumerate())


def client_threads(client: Client) -> List[str]:
    """Names of the client's live threads, sorted (short-lived member workers excluded)."""
    prefix = f"openqq-{client.config.account}-"
    return sorted(t.name for t in threading.enumerate()
                  if t.name.startswith(prefix) and "members" not in t.name and t.is_alive())
