"""Acting on a post_api receiver's answer: ``{"reply": ..., "shutup": 1, "shutup_time": N}``.

Runs on its own named thread so that a mute (a blocking qun.qq.com call) never holds up
the delivery queue. Only answers to *received* messages are acted on: the delivery hub
submits sent messages without a context, so the original's reply loop on sent messages
(section 17, #22) cannot happen.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any, Dict, Optional, Tuple

from ..client import contacts as _lookup

log = logging.getLogger(__name__)

DEFAULT_SHUTUP_SECONDS = 60


def _truthy(value: Any) -> bool:
    return value not in (None, "", 0, "0", False)


class ReplyActions:
    """Queue of (received message, answer) pairs, executed on one thread. Thread-safe."""

    def __init__(self, client: Any, *, name: str = "openqq-post-api-actions",
                 max_pending: int = 1000) -> None:
        self.client = client
        self.name = name
        self._queue: "queue.Queue[Optional[Tuple[Any, Dict[str, Any]]]]" = queue.Queue(max_pending)
        self._thread: Optional[threading.Thread] = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Finish queued actions for up to ``timeout`` s and join. Idempotent; thread-safe."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            pass
        thread.join(timeout)
        if thread.is_alive():
            log.warning("%s still running after stop", self.name)

    def submit(self, msg: Any, answer: Dict[str, Any]) -> None:
        """Called by the post_api worker with the receiver's JSON answer. Thread-safe."""
        if "reply" not in answer and not _truthy(answer.get("shutup")):
            return
        try:
            self._queue.put_nowait((msg, answer))
        except queue.Full:
            log.warning("post_api answers: too many pending, one dropped")

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                self.act(*job)
            except Exception:
                log.exception("post_api answer failed")

    # --- the actions (plain method: tests drive it synchronously) ----------------------
    def act(self, msg: Any, answer: Dict[str, Any]) -> None:
        reply = answer.get("reply")
        if isinstance(reply, (int, float)) and not isinstance(reply, bool):
            reply = str(reply)
        if isinstance(reply, str) and reply != "":
            # The reply goes through the sender queue; its result shows up as send_message.
            msg.reply(reply)
        if _truthy(answer.get("shutup")):
            self._shutup_sender(msg, answer.get("shutup_time"))

    def _shutup_sender(self, msg: Any, shutup_time: Any) -> None:
        data = msg.to_json()
        if data.get("type") != "group_message":
            return
        try:
            seconds = int(shutup_time) if _truthy(shutup_time) else DEFAULT_SHUTUP_SECONDS
        except (TypeError, ValueError):
            log.warning("post_api answer: shutup_time %r is not a number", shutup_time)
            return
        if seconds < 60:
            log.warning("post_api answer: shutup_time %d s is below the 60 s minimum; ignored", seconds)
            return
        group = getattr(msg, "group", None) or _lookup.find_group(self.client, id=data.get("group_id"))
        if group is None:
            log.warning("post_api answer: group %s of the message not found", data.get("group_id"))
            return
        member = _lookup.find_member(_lookup.group_members(self.client, group), id=data.get("sender_id"))
        if member is None:
            log.warning("post_api answer: sender %s not found in the group", data.get("sender_id"))
            return
        ok = self.client.shutup_group_member(group, [member], seconds)
        log.info("post_api answer: mute %s in %s for %d s: %s", data.get("sender"), data.get("group"),
                 seconds, "done" if ok else "failed")
