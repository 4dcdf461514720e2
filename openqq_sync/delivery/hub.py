"""Connects one Client's signals to every way reports leave: check_event, post_api, stdout.

Receivers run on the emitting thread (protocol, sender or updater thread): they build the
JSON, number it, append it to the event buffer and hand it to the post_api and stdout
queues, then return. No I/O happens here (E2): a stalled stdout reader or receiver holds
up only its own worker thread.
"""

from __future__ import annotations

import json
import logging
import queue
import sys
import threading
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, TextIO, Tuple

from .. import signals
from .. import threads as _threads
from . import payloads
from .event_buffer import EventBuffer, waiter_cap
from .post_api import PostApiReporter
from .replies import ReplyActions

if TYPE_CHECKING:
    from ..client.client import Client
    from ..config import Config

log = logging.getLogger(__name__)

#: Signals reported as events when listed in post_event_list (the original's handler set).
EVENT_SIGNALS = (signals.login, signals.stop, signals.state_change, signals.input_qrcode) \
    + tuple(signals.CONTACT_EVENTS)


class LineWriter:
    """``post_stdout``: JSON lines written and flushed in order on a named thread, from a
    bounded queue (full: the line is dropped and counted). Thread-safe."""

    def __init__(self, out: Optional[TextIO], *, account: str, max_pending: int = 10000) -> None:
        self._out = out
        self.account = account
        self.dropped = 0
        self._queue: "queue.Queue[Optional[str]]" = queue.Queue(max_pending)
        self._thread: Optional[threading.Thread] = None

    def start(self) -> None:
        self._thread = _threads.spawn(self.account, "stdout", self._run)

    def put(self, line: str) -> None:
        try:
            self._queue.put_nowait(line)
        except queue.Full:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 100 == 0:
                log.warning("post_stdout: the reader is not keeping up; %d line(s) dropped so far",
                            self.dropped)

    def stop(self, timeout: float = 5.0) -> None:
        """Write what is queued for up to ``timeout`` s, then join. Idempotent; thread-safe."""
        thread, self._thread = self._thread, None
        # A write blocked on a reader that never reads cannot be interrupted: it is logged.
        _threads.stop_worker(thread, self._queue, timeout, logger=log, stuck="still blocked writing after stop")

    def _run(self, ready: threading.Event) -> None:
        ready.set()
        while True:
            line = self._queue.get()
            if line is None:
                return
            out = self._out or sys.stdout
            try:
                out.write(line)
                out.flush()
            except (OSError, ValueError) as e:      # a closed pipe or file: the rest is dropped
                log.warning("post_stdout: writing failed (%s); stdout reports stop", type(e).__name__)
                return


class Delivery:
    """Everything that reacts to one Client's messages and events. Thread-safe.

    :param client: the Client whose signals are followed (``sender=client``).
    :param config: ``post_api``, ``post_event``, ``post_event_list``, ``post_stdout``,
        ``check_event_*``, ``post_api_*``, ``post_secret``.
    :param stdout: where ``post_stdout`` lines go (default ``sys.stdout``).
    """

    def __init__(self, client: Client, config: Config, *, stdout: Optional[TextIO] = None) -> None:
        self.client = client
        self.config = config
        account = config.account
        self.buffer = EventBuffer(max_size=config.check_event_list_max_size,
                                  retention=config.check_event_retention,
                                  max_waiters=waiter_cap(config))
        self.actions: Optional[ReplyActions] = None
        self.reporter: Optional[PostApiReporter] = None
        self.stdout: Optional[LineWriter] = None
        if config.post_api:
            self.actions = ReplyActions(client, account=account)
            self.reporter = PostApiReporter(
                config.post_api, account=account, timeout=config.post_api_timeout,
                queue_size=config.post_api_queue_size, retry_window=config.post_api_retry_window,
                secret=config.post_secret, self_id=self._self_id, on_reply=self.actions.submit,
                workers=config.post_api_workers, max_answer=config.max_answer_size)
        if config.post_stdout:
            self.stdout = LineWriter(stdout, account=account)
        self._lock = threading.Lock()
        self._seq = 0
        self._connected: List[Tuple[Any, Callable[..., None]]] = []
        self._started = False

    # --- lifecycle -------------------------------------------------------------------
    def start(self) -> "Delivery":
        """Connect the receivers and start the workers; call before ``client.start()`` so the
        login events are seen. Returns self."""
        if self._started:
            return self
        self._started = True
        if self.actions is not None:
            self.actions.start()
        if self.reporter is not None:
            self.reporter.start()
        if self.stdout is not None:
            self.stdout.start()
        self._connect(signals.receive_message, self._on_receive)
        self._connect(signals.send_message, self._on_send)
        if self.config.post_event:
            wanted = set(self.config.post_event_list or ())
            for sig in EVENT_SIGNALS:
                if sig.name in wanted:
                    self._connect(sig, self._event_receiver(sig.name))
        return self

    def stop(self, drain_timeout: float = 5.0) -> None:
        """Disconnect, wake check_event waiters, drain post_api for up to ``drain_timeout`` s,
        join every thread. Idempotent; thread-safe; call after ``client.stop()`` so the
        ``stop`` event is delivered too."""
        for sig, fn in self._connected:
            sig.disconnect(fn, sender=self.client)
        self._connected = []
        self.buffer.close()
        if self.reporter is not None:
            self.reporter.stop(drain_timeout)
        if self.actions is not None:
            self.actions.stop(drain_timeout)
        if self.stdout is not None:
            self.stdout.stop(drain_timeout)

    def _connect(self, sig: Any, fn: Callable[..., None]) -> None:
        sig.connect(fn, sender=self.client, weak=False)
        self._connected.append((sig, fn))

    # --- receivers (emitting thread: build, number, enqueue, return) ---------------------
    def _on_receive(self, sender: Any, msg: Any = None, **_: Any) -> None:
        self._on_message(msg, "receive_message", context=msg)

    def _on_send(self, sender: Any, msg: Any = None, **_: Any) -> None:
        # No context: an answer to the post of a sent message is never acted on (17, #22).
        self._on_message(msg, "send_message", context=None)

    def _on_message(self, msg: Any, post_type: str, context: Any) -> None:
        try:
            data = payloads.message_payload(msg, post_type)
            if data is None:
                return
            self.emit(data, drain=True, context=context)
        except Exception:
            log.exception("reporting a %s failed", post_type)

    def _event_receiver(self, name: str) -> Callable[..., None]:
        drain = name in payloads.CHECK_EVENT_EVENTS

        def receive(sender: Any, **kwargs: Any) -> None:
            try:
                self.emit(payloads.event_payload(name, kwargs), drain=drain)
            except Exception:
                log.exception("reporting event %s failed", name)
        return receive

    def emit(self, data: Dict[str, Any], *, drain: bool, context: Any = None) -> int:
        """Number one report and hand it to every outlet; returns its ``seq``. Thread-safe.

        Numbering and queueing happen under one lock, so check_event, stdout and post_api all
        see reports in ``seq`` order whichever thread emitted them.
        """
        with self._lock:
            self._seq += 1
            data["seq"] = self._seq
            self.buffer.append(data, seq=self._seq, drain=drain)
            if self.stdout is None and self.reporter is None:
                return self._seq   # no outlet takes the text: serializing it would be waste
            text = json.dumps(data, ensure_ascii=False, default=str, separators=(",", ":"))
            if self.stdout is not None:
                self.stdout.put(text + "\n")
            if self.reporter is not None:
                self.reporter.submit(text.encode("utf-8"), context)
            return self._seq

    # --- helpers ---------------------------------------------------------------------
    def _self_id(self) -> Any:
        user = self.client.user
        return user.uid if user is not None else None
