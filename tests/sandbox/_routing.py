"""Test-only routing: send every ``*.qq.com`` request to the sandbox, keeping the real Host.

Requests still carry the real URL (``https://ssl.ptlogin2.qq.com/ptqrshow?...``), so the
cookie jar matches real domains and the Host header is the real host; only the connection
goes to ``127.0.0.1:<port>`` over plain HTTP. (The client has its own adapter in
``protocol/``; this one lives in the tests so the sandbox is checked independently.)
"""

from __future__ import annotations

from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter


class SandboxAdapter(HTTPAdapter):
    def __init__(self, sandbox_url: str, **kw) -> None:
        parts = urlsplit(sandbox_url)
        self._host, self._port = parts.hostname, parts.port
        super().__init__(**kw)

    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):
        return self.poolmanager.connection_from_host(self._host, self._port, scheme="http")

    def cert_verify(self, conn, url, verify, cert):
        return None

    def add_headers(self, request, **kwargs):
        request.headers["Host"] = urlsplit(request.url).netloc


def routed_session(sandbox_url: str) -> requests.Session:
    """A ``requests.Session`` whose ``http://`` and ``https://`` traffic goes to the sandbox."""
    s = requests.Session()
    s.trust_env = False
    adapter = SandboxAdapter(sandbox_url)
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    s.headers["User-Agent"] = "Mozilla/5.0 (Windows NT 6.1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/37.0.2062"
    return s
