"""One kept-alive HTTP/1.1 client connection that POSTs and reads the answer itself.

post_api sends one small POST per report. ``http.client`` parses every answer's headers
with the ``email`` package: at 200 reports/s that parsing was half of the API process's
time holding the GIL (py-spy ``--gil``), and every other thread waited behind it. This
reader takes only what a report needs from an answer: the status, the headers as a dict
(first value wins), and the body, delimited by Content-Length, chunked encoding or the end
of the connection. Errors are ``http.client``'s exceptions, so callers catch them as before.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from typing import BinaryIO, Dict, Mapping, Optional, Tuple

MAX_LINE = 65536          # as http.client: a longer status or header line is refused
MAX_HEADERS = 100
NO_BODY = frozenset({204, 304})


class Http1Connection:
    """Not thread-safe: one owner (the post_api worker). ``close`` is idempotent."""

    def __init__(self, host: str, port: Optional[int], *, https: bool, timeout: float) -> None:
        self.host = host
        self.https = https
        self.port = port or (443 if https else 80)
        self.timeout = timeout
        default = 443 if https else 80
        name = f"[{host}]" if ":" in host else host
        self._host_header = name if self.port == default else f"{name}:{self.port}"
        self._sock: Optional[socket.socket] = None
        self._rfile: Optional[BinaryIO] = None

    @property
    def is_open(self) -> bool:
        return self._sock is not None

    def post(self, path: str, body: bytes, headers: Mapping[str, str]) -> Tuple[int, Dict[str, str], bytes]:
        """Send one POST and read its answer: ``(status, headers (lower-case names), body)``.
        Closes the connection when the answer says so (or ends with it)."""
        if self._sock is None:
            self._open()
        lines = [f"POST {path} HTTP/1.1", f"Host: {self._host_header}", "Accept-Encoding: identity",
                 f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        assert self._sock is not None
        self._sock.sendall(request)
        status, version, answer_headers = self._read_head()
        content, delimited = self._read_body(status, answer_headers)
        connection = answer_headers.get("connection", "").lower()
        if (not delimited or "close" in connection
                or (version == "HTTP/1.0" and "keep-alive" not in connection)):
            self.close()
        return status, answer_headers, content

    def close(self) -> None:
        rfile, sock = self._rfile, self._sock
        self._rfile = self._sock = None
        if rfile is not None:
            rfile.close()
        if sock is not None:
            sock.close()

    # --- reading ------------------------------------------------------------------------
    def _open(self) -> None:
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.https:
                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        self._rfile = sock.makefile("rb")

    def _line(self) -> bytes:
        assert self._rfile is not None
        line = self._rfile.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise http.client.LineTooLong("answer line")
        return line

    def _read_head(self) -> Tuple[int, str, Dict[str, str]]:
        while True:
            line = self._line()
            if not line:
                # The usual end of a kept-alive connection the receiver closed while idle.
                raise http.client.RemoteDisconnected("the receiver closed the connection without an answer")
            parts = line.decode("latin-1").rstrip("\r\n").split(None, 2)
            if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
                raise http.client.BadStatusLine(line.decode("latin-1", "replace").rstrip())
            status = int(parts[1])
            headers = self._read_headers()
            if 100 <= status < 200 and status != 101:
                continue          # an interim answer (100 Continue): the real one follows
            return status, parts[0], headers

    def _read_headers(self) -> Dict[str, str]:
        headers: Dict[str, str] = {}
        last = None
        for _ in range(MAX_HEADERS + 1):
            line = self._line()
            if line in (b"\r\n", b"\n", b""):
                return headers
            text = line.decode("latin-1").rstrip("\r\n")
            if text[:1] in (" ", "\t") and last is not None:
                headers[last] += " " + text.strip()      # an obsolete folded continuation
                continue
            name, sep, value = text.partition(":")
            if not sep:
                raise http.client.HTTPException(f"malformed header line {text[:80]!r}")
            last = name.strip().lower()
            headers.setdefault(last, value.strip())
        raise http.client.HTTPException(f"more than {MAX_HEADERS} headers")

    def _read_body(self, status: int, headers: Mapping[str, str]) -> Tuple[bytes, bool]:
        """The body, and whether its end was marked (else it ran to the connection's end)."""
        if status in NO_BODY:
            return b"", True
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return self._read_chunked(), True
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                raise http.client.HTTPException(f"bad Content-Length {length[:40]!r}")
            return self._read_exactly(int(length)), True
        assert self._rfile is not None
        return self._rfile.read(), False

    def _read_exactly(self, n: int) -> bytes:
        assert self._rfile is not None
        data = self._rfile.read(n)
        if len(data) < n:
            raise http.client.IncompleteRead(data, n - len(data))
        return data

    def _read_chunked(self) -> bytes:
        chunks = []
        while True:
            size_text = self._line().split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise http.client.HTTPException(f"bad chunk size {size_text[:40]!r}") from None
            if size == 0:
                self._read_headers()           # trailers, up to the blank line
                return b"".join(chunks)
            chunks.append(self._read_exactly(size))
            self._read_exactly(2)              # the CRLF after the chunk
