"""Follow every message and event by long-polling ``/openqq/check_event``.

It uses the lossless cursor (``since=SEQ``): nothing is missed between two calls, and
several pollers can run at once. Prints one line per item::

    python contrib/examples/check_event_poller.py --api http://127.0.0.1:5000 [--token T]
"""

from __future__ import annotations

import argparse
import json
import threading
from typing import Any, Callable, Dict, Optional

import requests


def describe(item: Dict[str, Any]) -> str:
    if item.get("post_type") == "event":
        return f"[{item['seq']}] event {item['event']} {json.dumps(item.get('params'), ensure_ascii=False)[:80]}"
    where = item.get("group") or item.get("discuss") or ""
    who = "我" if item.get("class") == "send" else item.get("sender")
    return f"[{item['seq']}] {item.get('type')} {who}{'|' + where if where else ''}: {item.get('content')}"


def poll(api: str, handle: Callable[[Dict[str, Any]], None], *, since: int = 0,
         token: Optional[str] = None, stop: Optional[threading.Event] = None,
         session: Optional[requests.Session] = None) -> int:
    """Call ``handle`` for every item after ``since`` until ``stop`` is set; returns the last seq.

    Network errors are retried after a second; the cursor makes the retry lossless.
    """
    stop = stop or threading.Event()
    http = session or requests.Session()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    while not stop.is_set():
        try:
            r = http.get(f"{api}/openqq/check_event", params={"since": since}, headers=headers, timeout=65)
            items = r.json()
        except (requests.RequestException, ValueError):
            stop.wait(1.0)
            continue
        if not isinstance(items, list):            # {"code": ..., "status": ...}: an error
            stop.wait(1.0)
            continue
        for item in items:
            since = max(since, int(item.get("seq", since)))
            handle(item)
    return since


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--api", default="http://127.0.0.1:5000")
    ap.add_argument("--token")
    ap.add_argument("--since", type=int, default=0, help="start after this seq (0 = everything retained)")
    args = ap.parse_args()
    try:
        poll(args.api.rstrip("/"), lambda item: print(describe(item), flush=True),
             since=args.since, token=args.token)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
