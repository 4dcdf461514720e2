"""Many held check_event requests from one thread: ``python -m bench._waiters PORT PATH:N ...``.

Opens N keep-alive connections per ``PATH:N`` argument, sends each request, prints ``ready``
once every request is written, then prints one JSON list: per response
``[path, status, arrival (time.monotonic()), body is not []]``. A selector loop reads them,
so the driver adds microseconds per response, where a thread per waiter added hundreds of
milliseconds to the last arrival on 2 cores.
"""

from __future__ import annotations

import json
import selectors
import socket
import sys
import time
from typing import List


def main(argv: List[str]) -> None:
    port, specs = int(argv[0]), argv[1:]
    sel = selectors.DefaultSelector()
    for spec in specs:
        path, _, n = spec.rpartition(":")
        request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
        for _ in range(int(n)):
            sock = socket.create_connection(("127.0.0.1", port), timeout=30)
            sock.sendall(request)
            sock.setblocking(False)
            sel.register(sock, selectors.EVENT_READ, {"path": path, "data": b""})
    print("ready", flush=True)
    results = []
    while sel.get_map():
        events = sel.select(120)
        if not events:
            break
        for key, _ in events:
            state, sock = key.data, key.fileobj
            chunk = sock.recv(65536)
            now = time.monotonic()
            state["data"] += chunk
            head, sep, body = state["data"].partition(b"\r\n\r\n")
            done = not chunk
            if sep:
                lines = head.decode("latin-1").split("\r\n")
                length = next((int(line.split(":", 1)[1]) for line in lines
                               if line.lower().startswith("content-length:")), 0)
                if len(body) >= length:
                    results.append([state["path"], int(lines[0].split()[1]), now, body[:length].strip() != b"[]"])
                    done = True
            if done:
                if not sep:
                    results.append([state["path"], 0, now, False])
                sel.unregister(sock)
                sock.close()
    print(json.dumps(results), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
