"""Chatter: contacts of the world send messages to the account at a configurable rate.

A thread named ``openqq-sandbox-chatter`` reads ``world.chatter_rate`` (messages per minute,
0 = quiet; ``world.set_chatter`` changes it at run time) and injects friend, group and
discussion messages (text, Chinese, faces) while someone is logged in, or always when the
world has a OneBot face. Deterministic choices from the seed. ``start()``/``stop()`` are
thread-safe; ``stop()`` is idempotent.
"""

from __future__ import annotations

import logging
import random
import threading
from typing import Optional

from ..faces import FACES

log = logging.getLogger(__name__)

_LINES = ["你好", "在吗？", "今天天气不错", "晚上一起吃饭 & 聊天", "收到 <3", "哈哈哈", "Hello world",
          "这个 bug 修好了吗", "明天见", "周末去爬山吗", "<b>不是HTML</b>", "好的 👍"]


class Chatter:
    """Owns the chatter thread of one world."""

    def __init__(self, world, seed: int = 1) -> None:
        self.world = world
        self._rng = random.Random("openqq-sandbox-chatter:%s" % seed)
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("chatter already started")
        self._thread = threading.Thread(target=self._run, name="openqq-sandbox-chatter", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self.world.chatter_changed.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("sandbox: chatter thread still running")

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                rate = self.world.chatter_rate
                self.world.chatter_changed.clear()
                if rate <= 0:
                    self.world.chatter_changed.wait()
                    continue
                if self.world.chatter_changed.wait(self._rng.expovariate(rate / 60.0)):
                    continue  # the rate changed (or stop): re-read it
                if self._stop.is_set():
                    break
                self.say_something()
        except Exception:  # pragma: no cover - logged, the sandbox keeps serving
            log.exception("sandbox: chatter crashed")

    def say_something(self) -> Optional[dict]:
        """Inject one random message now (if someone is logged in). Returns its receipt."""
        if self.world.grant is None and self.world.onebot is None:  # a OneBot account is always online
            return None
        r = self._rng
        text = r.choice(_LINES)
        if r.random() < 0.4:
            text += " [%s]" % r.choice(list(FACES.values()))
        d = self.world.data
        with self.world._lock:
            kind = r.choice(["friend_message", "group_message", "discuss_message"])
            group_uid = discuss_key = None
            if kind == "group_message" and d.groups:
                g = d.groups[r.choice(list(d.groups))]
                group_uid = g.number
                sender = r.choice([q for q in list(g.members)[:200] if q != d.account.qq] or [None])
            elif kind == "discuss_message" and d.discusses:
                dc = d.discusses[r.choice(list(d.discusses))]
                discuss_key = dc.key
                sender = r.choice([q for q in dc.members if q != d.account.qq] or [None])
            else:
                kind = "friend_message"
                sender = r.choice(list(d.friends)) if d.friends else None
        if sender is None:
            return None
        try:
            return self.world.inject_message(kind, sender, text, group_uid=group_uid, discuss_key=discuss_key)
        except ValueError:  # the world changed meanwhile
            return None
