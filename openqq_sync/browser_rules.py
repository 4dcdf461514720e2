"""The browser rules: which requests a web page may make, for the API, the controller and the sandbox.

Without a token nothing but the network guards the API, so a page the user opens must not be
able to use it: a request must name a loopback Host or one listed with ``--allowed-hosts``
(DNS rebinding names the attacker's host), and a request a browser marks as coming from
another site (``Sec-Fetch-Site``, or an ``Origin`` that is neither the server's own nor listed
with ``--cors-origins``) is refused. Only listed origins get ``Access-Control-Allow-Origin``.
With a token the token guards every route: the Host check holds only when ``--allowed-hosts``
is given, cross-site requests are let through and every answer allows every origin.
Requests without ``Origin`` and ``Sec-Fetch-*`` headers (curl, bots, scripts) are judged by
their Host alone. Everything here reads a WSGI environ, so any framework can use it.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any, Dict, Iterable, Mapping, Optional, Tuple
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from .config import Config

ALLOWED_HOSTS_OPTION = "--allowed-hosts"
CORS_ORIGINS_OPTION = "--cors-origins"
#: Sec-Fetch-Site values of a request that a page of another origin made.
_OTHER_SITE = frozenset({"cross-site", "same-site"})
_LOOPBACK_NAMES = frozenset({"localhost", "localhost."})
_DEFAULT_PORTS = {"http": "80", "https": "443"}
_WILDCARDS = frozenset({"", "0.0.0.0", "::", "*"})


class Refusal(Exception):
    """A request the rules refuse: answer HTTP 403 with :meth:`to_dict` as JSON."""

    def __init__(self, status: str, option: str) -> None:
        super().__init__(status)
        self.status = status
        self.option = option

    def to_dict(self) -> Dict[str, Any]:
        return {"code": 403, "status": self.status, "option": self.option}


def _split(host: str) -> Tuple[str, str]:
    """``(name, port)`` of a Host header or an origin's netloc, lowercased; port "" when absent."""
    host = host.strip().lower()
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        return name, rest[1:] if rest.startswith(":") else ""
    if host.count(":") == 1:
        name, _, port = host.partition(":")
        return name, port
    return host, ""


def host_name(host: str) -> str:
    """The name or address in a Host header, without port or IPv6 brackets, lowercased."""
    return _split(host)[0]


def is_loopback(name: str) -> bool:
    if name in _LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _origin_key(scheme: str, netloc: str) -> str:
    """``host:port`` with the scheme's default port written out, for comparing origins."""
    name, port = _split(netloc)
    return f"{name}:{port or _DEFAULT_PORTS.get(scheme, '')}"


class BrowserRules:
    """The rules for one server.

    :param token: the server has a token (the value is not kept).
    :param allowed_hosts: Host names or addresses answered besides loopback ones (port
        ignored); ``*`` answers every Host.
    :param cors_origins: origins (``https://app.example``) whose pages may call the API and read
        its answers; ``*`` lets every page do so, as the original did.
    :param own_host: the address the server listens on (``--host``), answered as well unless it
        is a wildcard: a rebinding page names its own host, never this address.
    """

    def __init__(self, *, token: bool = False, allowed_hosts: Iterable[str] = (),
                 cors_origins: Iterable[str] = (), own_host: Optional[str] = None) -> None:
        self.token = bool(token)
        self.allowed_hosts = frozenset(host_name(h) for h in allowed_hosts if h.strip())
        own = host_name(own_host or "")
        self.own_host = own if own not in _WILDCARDS else None
        self.cors_origins = frozenset(o.strip().rstrip("/").lower() for o in cors_origins if o.strip())
        self.any_origin = "*" in self.cors_origins

    @classmethod
    def from_config(cls, config: Config) -> "BrowserRules":
        """The rules of a Config: its ``token``, ``allowed_hosts``, ``cors_origins`` and ``host``."""
        return cls(token=bool(config.token), allowed_hosts=config.allowed_hosts or (),
                   cors_origins=config.cors_origins or (), own_host=config.host)

    # --- the checks ----------------------------------------------------------------
    def host_allowed(self, host: str) -> bool:
        name = host_name(host)
        return ("*" in self.allowed_hosts or name in self.allowed_hosts or name == self.own_host
                or is_loopback(name))

    def origin_listed(self, origin: str) -> bool:
        return self.any_origin or origin.rstrip("/").lower() in self.cors_origins

    def check(self, environ: Mapping[str, Any]) -> None:
        """Refuse ``environ``'s request when the rules say so.

        :raises Refusal: a Host that is neither loopback nor listed, or a request from another site.
        """
        # Browsers always send a Host; a request without one (HTTP/1.0 scripts) is no page's.
        host = environ.get("HTTP_HOST") or ""
        if host and (not self.token or self.allowed_hosts) and not self.host_allowed(host):
            raise Refusal(f"host not allowed: {host_name(host)[:100]} (list it with {ALLOWED_HOSTS_OPTION})",
                          ALLOWED_HOSTS_OPTION)
        if self.token or self.any_origin:
            return
        origin = environ.get("HTTP_ORIGIN")
        if origin is not None:
            if self._own_origin(origin, host) or self.origin_listed(origin):
                return
            raise Refusal(f"request from another site refused: {origin[:100]} (list the origin with "
                          f"{CORS_ORIGINS_OPTION})", CORS_ORIGINS_OPTION)
        if environ.get("HTTP_SEC_FETCH_SITE", "").strip().lower() in _OTHER_SITE:
            raise Refusal(f"request from another site refused (a page may call this API only with "
                          f"{CORS_ORIGINS_OPTION} listing its origin)", CORS_ORIGINS_OPTION)

    @staticmethod
    def _own_origin(origin: str, host: str) -> bool:
        # The scheme is not compared: behind a TLS proxy the page is https, the request http.
        parts = urlsplit(origin.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc or not host:
            return False
        return _origin_key(parts.scheme, parts.netloc) == _origin_key(parts.scheme, host)

    def allow_origin(self, environ: Mapping[str, Any]) -> Tuple[Optional[str], bool]:
        """The ``Access-Control-Allow-Origin`` value for an answer to ``environ`` (None: no header),
        and whether the answer varies with ``Origin``."""
        if self.token or self.any_origin:
            return "*", False
        origin = environ.get("HTTP_ORIGIN")
        if origin is not None and origin.rstrip("/").lower() in self.cors_origins:
            return origin, True
        return None, bool(self.cors_origins)


def set_cors_headers(headers: Any, rules: BrowserRules, environ: Mapping[str, Any]) -> None:
    """Set (or remove) ``Access-Control-Allow-Origin`` on a werkzeug ``Headers``."""
    value, varies = rules.allow_origin(environ)
    if value is None:
        headers.pop("Access-Control-Allow-Origin", None)
    else:
        headers["Access-Control-Allow-Origin"] = value
    if varies:
        headers.add("Vary", "Origin")
