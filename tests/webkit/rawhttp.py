"""Raw HTTP/1.x over a socket, for tests that need the exact bytes a server writes, pipelined
requests or a connection's life (http.client and requests hide all three)."""

from __future__ import annotations

import socket
from typing import Dict, List, Optional, Tuple

Response = Tuple[str, List[Tuple[str, str]], bytes]


def connect(address: Tuple[str, int]) -> socket.socket:
    return socket.create_connection(address, timeout=30)


def request_bytes(path: str, version: str = "1.1", headers: Optional[Dict[str, str]] = None) -> bytes:
    lines = [f"GET {path} HTTP/{version}", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def send(sock: socket.socket, path: str, version: str = "1.1", headers: Optional[Dict[str, str]] = None) -> None:
    sock.sendall(request_bytes(path, version, headers))


def read(sock: socket.socket, buf: Optional[bytearray] = None) -> Response:
    """One response; ``buf`` carries bytes read past it over to the next call."""
    data = buf if buf is not None else bytearray()
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a response: {bytes(data)!r}"
        data += chunk
    head, _, _ = bytes(data).partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = [tuple(x.strip() for x in line.split(":", 1)) for line in lines]
    start = len(head) + 4
    length = int(dict(headers).get("Content-Length", 0))
    while len(data) < start + length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed inside the body"
        data += chunk
    body = bytes(data[start:start + length])
    del data[:start + length]
    return status, headers, body


def without_date(response: Response) -> Response:
    return response[0], [h for h in response[1] if h[0] != "Date"], response[2]
