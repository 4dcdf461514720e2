"""A headless Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``).

Standard library only: Chromium reads commands on fd 3 and writes answers on fd 4, each a
JSON text ended by NUL. One reader thread matches answers to commands by ``id``.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import subprocess
import threading
import time
from typing import Any, Dict, Optional, Sequence

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> Optional[str]:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


class BrowserError(RuntimeError):
    pass


class Chromium:
    """One headless browser with one page. Use as a context manager.

    :param extra_args: more command-line switches, e.g. ``--host-resolver-rules=MAP evil.test 127.0.0.1``.
    """

    def __init__(self, executable: str, profile_dir: str, *, width: int = 1200, height: int = 900,
                 extra_args: Sequence[str] = ()) -> None:
        self._answers: Dict[int, Dict[str, Any]] = {}
        self._cond = threading.Condition()
        self._next_id = 0
        self._closed = False
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        # Above 10 so the child's dup2 onto 3 and 4 cannot clobber one with the other.
        child_r = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
        child_w = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
        os.close(to_chrome_r)
        os.close(from_chrome_w)

        # close_fds would run after preexec_fn and close 3 and 4 again; Python's own fds are
        # not inheritable, so only these two reach Chromium.
        def remap() -> None:
            os.dup2(child_r, 3)
            os.dup2(child_w, 4)

        os.makedirs(profile_dir, exist_ok=True)
        self.log_path = os.path.join(profile_dir, "chromium.log")
        self._log = open(self.log_path, "wb")
        args = [executable, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-extensions", "--disable-dev-shm-usage",
                "--no-default-browser-check", f"--user-data-dir={profile_dir}",
                f"--window-size={width},{height}", "--remote-debugging-pipe", *extra_args, "about:blank"]
        try:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
                                         close_fds=False, preexec_fn=remap)
        finally:
            os.close(child_r)
            os.close(child_w)
        self._reader = threading.Thread(target=self._read, name="test-chromium-cdp", daemon=True)
        self._reader.start()
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.send("Page.enable", session=True)
        self.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                                                         "deviceScaleFactor": 1, "mobile": False}, session=True)

    # --- protocol ------------------------------------------------------------------
    def _read(self) -> None:
        buf = b""
        while True:
            try:
                chunk = os.read(self._from_chrome, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                break
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw.decode("utf-8"))
                if "id" in msg:
                    with self._cond:
                        self._answers[msg["id"]] = msg
                        self._cond.notify_all()
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def send(self, method: str, params: Optional[Dict[str, Any]] = None, *, session: bool = False,
             timeout: float = 30.0) -> Dict[str, Any]:
        with self._cond:
            self._next_id += 1
            mid = self._next_id
        msg: Dict[str, Any] = {"id": mid, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = self.session
        os.write(self._to_chrome, json.dumps(msg).encode("utf-8") + b"\0")
        with self._cond:
            if not self._cond.wait_for(lambda: mid in self._answers or self._closed, timeout):
                raise BrowserError(f"{method}: no answer in {timeout} s")
            if mid not in self._answers:
                raise BrowserError(f"{method}: browser closed; see {self.log_path}")
            answer = self._answers.pop(mid)
        if "error" in answer:
            raise BrowserError(f"{method}: {answer['error']}")
        return answer.get("result", {})

    # --- page verbs ----------------------------------------------------------------
    def navigate(self, url: str) -> None:
        result = self.send("Page.navigate", {"url": url}, session=True)
        if result.get("errorText"):
            raise BrowserError(f"navigate {url}: {result['errorText']}")
        # Page.navigate answers before the new document exists: wait until it is loaded.
        self.wait_for(f"location.href === {json.dumps(url)} && document.readyState === 'complete'")

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True}, session=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 20.0) -> Any:
        """Poll ``expression`` in the page until truthy (returned): the page's own timers
        drive what it shows, so there is nothing to await from outside."""
        deadline = time.monotonic() + timeout
        error: Optional[BrowserError] = None
        while True:
            try:
                value = self.evaluate(expression)
            except BrowserError as e:  # e.g. the document is being replaced
                value, error = None, e
            if value:
                return value
            if time.monotonic() >= deadline:
                raise AssertionError(f"page: {expression!r} not true within {timeout} s (last error: {error})")
            time.sleep(0.05)

    def screenshot(self, path: str) -> None:
        data = self.send("Page.captureScreenshot", {"format": "png"}, session=True)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    # --- lifecycle -----------------------------------------------------------------
    def close(self) -> None:
        try:
            if self.proc.poll() is None:
                self.send("Browser.close", timeout=5)
        except (BrowserError, OSError):
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        os.close(self._to_chrome)
        self._reader.join(5)
        os.close(self._from_chrome)
        self._log.close()

    def __enter__(self) -> "Chromium":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
