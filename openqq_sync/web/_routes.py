"""The route table the view modules fill and the blueprint serves, and the per-blueprint context.

A view is a plain function ``view(api, params) -> JSON value``: it gets the :class:`Api`
(client, config, delivery) and the request parameters as text, and returns what the
route answers. The blueprint does parsing, auth, the running check, JSON and JSONP.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

from ._cache import JsonCache

View = Callable[["Api", Dict[str, str]], Any]
GET = ("GET",)
GET_POST = ("GET", "POST")


@dataclass(frozen=True)
class Route:
    rules: Tuple[str, ...]
    methods: Tuple[str, ...]
    view: View
    needs_running: bool


ROUTES: List[Route] = []


def route(*rules: str, methods: Tuple[str, ...] = GET_POST, needs_running: bool = True) -> Callable[[View], View]:
    """Register ``view`` under ``rules`` (``/openqq/...``) for ``methods``."""
    def deco(view: View) -> View:
        ROUTES.append(Route(tuple(rules), tuple(methods), view, needs_running))
        return view
    return deco


@dataclass
class Api:
    """What the views of one blueprint share. Thread-safe (views only read it).

    :param on_stop: called on the control thread after ``stop_client`` stopped the client
        (``openqq run`` stops its server and exits there).
    :param stop_delay: seconds between ``stop_client``/``relogin`` answering and acting (3 s).
    """

    client: Any
    config: Any
    delivery: Any
    on_stop: Optional[Callable[[], None]] = None
    stop_delay: float = 3.0
    control_lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: bool = False
    control_threads: List[threading.Thread] = field(default_factory=list)
    cache: JsonCache = field(default_factory=JsonCache)

    def later(self, name: str, action: Callable[[], None]) -> None:
        """Run ``action`` on a named thread after ``stop_delay`` seconds."""
        def run() -> None:
            threading.Event().wait(self.stop_delay)
            action()
        thread = threading.Thread(target=run, name=f"openqq-{self.config.account}-{name}", daemon=True)
        with self.control_lock:
            self.control_threads.append(thread)
        thread.start()
