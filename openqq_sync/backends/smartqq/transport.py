"""The one chokepoint every SmartQQ HTTP call goes through (house style R1, T5).

:class:`Transport` owns the cookie jar (one, shared by every thread's Session), the
timeouts (connect ``ua_connect_timeout``, read per call), the attempt policy of blocking
calls, request ids and logging (method, redacted URL, status, duration; poll2 at DEBUG),
and turns ``requests`` exceptions into :class:`TransportError` / :class:`PollTimeout`.

Each thread uses its own Session (``new_session()``, or the per-thread default that
``request`` creates on demand); all of them write into the same jar, whose own lock
serialises cookie updates. Routing to a stand-in server is the mounted
:class:`~openqq_sync.backends.smartqq.routing.RoutingAdapter`'s job.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional
from urllib.parse import urlsplit

import requests
from requests.cookies import RequestsCookieJar, create_cookie

from ._wire import USER_AGENT
from ...errors import PollTimeout, TransportError
from ...errors import AbortedError
from .routing import RoutingAdapter

if TYPE_CHECKING:
    from ...config import Config

log = logging.getLogger(__name__)

__all__ = ["Transport", "redact"]

MAX_REDIRECTS = 7

# "r" is a JSON argument that carries vfwebqq/ptwebqq/psessionid (get_group_name_list_mask2
# sends it in the query string).
_SECRET_PARAMS = ("psessionid", "ptwebqq", "vfwebqq", "skey", "bkn", "ptsigx", "auth_token",
                  "pt4_token", "pt4_hkey", "pt4_ptcz", "ptqrtoken", "login_sig", "group_sig", "r")
_SECRET_RE = re.compile(r"(?<=[?&])(%s)=[^&#]*" % "|".join(_SECRET_PARAMS), re.IGNORECASE)


def redact(url: str) -> str:
    """The URL with every token-bearing query value replaced by ``***``."""
    return _SECRET_RE.sub(lambda m: m.group(1) + "=***", url)


def _is_poll(url: str) -> bool:
    return "/channel/poll2" in url


class Transport:
    """SmartQQ over ``requests``: shared cookies, per-thread Sessions, one request path.

    :param config: the client :class:`~openqq_sync.config.Config` (``server``,
        ``ua_connect_timeout``, ``ua_request_timeout``).
    :param session_factory: builds a bare ``requests.Session`` (test shim).
    :param adapter_factory: builds the adapter mounted for ``http://`` and ``https://``;
        defaults to a :class:`RoutingAdapter` for ``config.server``.

    Thread-safe: any thread may call ``request``/``json`` (each uses its own Session);
    cookie writes go through the jar's lock.
    """

    def __init__(self, config: "Config", *, session_factory: Optional[Callable[[], requests.Session]] = None,
                 adapter_factory: Optional[Callable[[], requests.adapters.BaseAdapter]] = None) -> None:
        self.config = config
        self.cookies = RequestsCookieJar()
        self._session_factory = session_factory or requests.Session
        server = config.server
        self._adapter_factory = adapter_factory or (lambda: RoutingAdapter(server))
        self._local = threading.local()
        self._ids = itertools.count(1)
        self._sessions_lock = threading.Lock()
        # Strong references: a Session dropped by its thread must still be closed by
        # close(), or its pooled keep-alive connection lingers until garbage collection.
        self._sessions: List[requests.Session] = []
        self._env_settings: Dict[Any, Dict[str, Any]] = {}

    # --- sessions ----------------------------------------------------------------------
    def new_session(self) -> requests.Session:
        """A Session for the calling thread, on the shared jar, with routing mounted."""
        session = self._session_factory()
        session.cookies = self.cookies
        session.headers["User-Agent"] = USER_AGENT
        session.max_redirects = MAX_REDIRECTS
        adapter = self._adapter_factory()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        with self._sessions_lock:
            self._sessions.append(session)
        return session

    def discard_session(self, session: requests.Session) -> None:
        """Close ``session`` and forget it (a thread that ends, an aborted poll session)."""
        with self._sessions_lock:
            if session in self._sessions:
                self._sessions.remove(session)
        session.close()

    def thread_session(self) -> requests.Session:
        """The calling thread's default Session (created on first use)."""
        session = getattr(self._local, "session", None)
        if session is None or _is_aborted(session):
            if session is not None:
                self.discard_session(session)
            session = self._local.session = self.new_session()
        return session

    def abort(self, session: requests.Session) -> None:
        """Cut ``session``'s in-flight connection and refuse its further requests.

        The thread blocked in that session's request gets a ``TransportError`` with
        ``aborted=True`` at once. The session is finished afterwards: take a
        ``new_session()``. Thread-safe (this is its purpose).
        """
        for adapter in set(session.adapters.values()):
            if isinstance(adapter, RoutingAdapter):
                adapter.abort()

    def close(self) -> None:
        """Close every Session this transport made. Call when the client stops."""
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
        self._local = threading.local()
        for session in sessions:
            try:
                session.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                log.debug("closing a session failed", exc_info=True)

    # --- requests ----------------------------------------------------------------------
    def request(self, method: str, url: str, *, session: Optional[requests.Session] = None,
                params: Any = None, form: Optional[Mapping[str, Any]] = None,
                referer: Optional[str] = None, timeout: Optional[float] = None, attempts: int = 1,
                allow_redirects: bool = True, headers: Optional[Mapping[str, str]] = None
                ) -> requests.Response:
        """Send one request, retried up to ``attempts`` times without delay (section 2).

        :param url: the real ``*.qq.com`` URL (a hand-built query may be part of it).
        :param params: extra query parameters (dict or list of pairs), URL-encoded.
        :param form: fields of an ``application/x-www-form-urlencoded`` body.
        :param timeout: read timeout in seconds; default ``config.ua_request_timeout``.
        :param attempts: 1 for poll2 and sends; blocking calls pass 3 or 5.
        :returns: the response, 2xx after redirects (3xx too when not following them).
        :raises PollTimeout: the read timed out (last attempt).
        :raises TransportError: network error or non-2xx after the last attempt.
        """
        session = session or self.thread_session()
        hdrs: Dict[str, str] = {}
        if referer:
            hdrs["Referer"] = referer
        if headers:
            hdrs.update(headers)
        read = timeout if timeout is not None else self.config.ua_request_timeout
        timeouts = (self.config.ua_connect_timeout, read)
        level = logging.DEBUG if _is_poll(url) else logging.INFO
        failure: Optional[TransportError] = None
        cause: Optional[BaseException] = None
        for attempt in range(1, max(1, attempts) + 1):
            rid = next(self._ids)
            try:
                prepared = session.prepare_request(requests.Request(method, url, params=params,
                                                                    data=form, headers=hdrs))
            except requests.RequestException as e:
                # A URL the service handed us (check_sig, a redirect) may be empty or bogus.
                raise TransportError("%s: %s" % (type(e).__name__, redact(str(e))), url=redact(url)) from e
            shown = redact(prepared.url or url)
            settings = self._environment(session, prepared.url or url)
            started = time.monotonic()
            try:
                resp = session.send(prepared, timeout=timeouts, allow_redirects=allow_redirects,
                                    **settings)
            except AbortedError as e:
                log.log(level, "[%d] %s %s -> aborted", rid, method, shown)
                failure, cause = AbortedError(url=shown), e
                break
            except requests.RequestException as e:
                elapsed = time.monotonic() - started
                aborted = _is_aborted(session)
                if isinstance(e, requests.ReadTimeout):
                    failure = PollTimeout("read timed out after %.1fs" % read, url=shown)
                else:
                    # requests' messages quote the URL, query (tokens) included.
                    failure = TransportError("%s: %s" % (type(e).__name__, redact(str(e))),
                                             url=shown, aborted=aborted)
                cause = e
                log.log(level, "[%d] %s %s -> %s (%.0f ms, attempt %d/%d)", rid, method, shown,
                        "aborted" if aborted else type(e).__name__, elapsed * 1000, attempt,
                        attempts)
                if aborted:
                    break
                continue
            elapsed = time.monotonic() - started
            log.log(level, "[%d] %s %s -> %d (%.0f ms)", rid, method, shown, resp.status_code,
                    elapsed * 1000)
            ok = 200 <= resp.status_code < 300 or (not allow_redirects and 300 <= resp.status_code < 400)
            if ok:
                return resp
            failure = TransportError("HTTP %d" % resp.status_code, url=shown, status=resp.status_code)
            cause = None
            resp.close()
        assert failure is not None
        if cause is not None:
            raise failure from cause
        raise failure

    def _environment(self, session: requests.Session, url: str) -> Dict[str, Any]:
        """requests' environment settings (proxies, CA bundle) for ``url``'s origin, read once
        per origin: reading them scans os.environ per request (0.2-0.4 ms, a tenth of a send)."""
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc, session.trust_env)
        settings = self._env_settings.get(key)
        if settings is None:
            settings = session.merge_environment_settings(url, {}, None, None, None)
            if len(self._env_settings) < 64:
                self._env_settings[key] = settings
        return dict(settings)

    def json(self, method: str, url: str, *, attempts: int = 1, **kwargs: Any) -> Any:
        """``request`` and parse the body as UTF-8 JSON; a bad body counts as a failed attempt.

        :raises TransportError: network error, non-2xx, or a body that is not JSON.
        """
        failure: Optional[TransportError] = None
        for _ in range(max(1, attempts)):
            try:
                resp = self.request(method, url, attempts=1, **kwargs)
            except TransportError as e:
                if e.aborted:
                    raise
                failure = e
                continue
            try:
                return json.loads(resp.content)
            except ValueError as e:
                failure = TransportError("invalid JSON: %s" % e, url=redact(resp.url or url),
                                         status=resp.status_code)
                failure.__cause__ = e
        assert failure is not None
        raise failure

    # --- cookies -----------------------------------------------------------------------
    def _snapshot(self) -> List[Any]:
        # The stdlib jar iterates over list() copies of its dicts, so another thread's
        # response storing a cookie meanwhile cannot break this walk.
        return list(self.cookies)

    def cookie(self, name: str) -> Optional[str]:
        """Value of the first unexpired cookie called ``name``, any domain (domains sorted,
        as the original's ``search_cookie``). Thread-safe."""
        now = time.time()
        found = [c for c in self._snapshot() if c.name == name and not c.is_expired(now)]
        if not found:
            return None
        found.sort(key=lambda c: (c.domain.lstrip("."), c.path))
        return found[0].value

    def set_cookie(self, name: str, value: str, domain: str, path: str = "/") -> None:
        """Add (or replace) a domain cookie, as the client itself does in 5.10/5.16/7.2."""
        self.cookies.set(name, value, domain="." + domain.lstrip("."), path=path)

    def save_cookies(self, path: str) -> None:
        """Write the whole jar as JSON to ``path`` (mode 0600, replaced atomically)."""
        records = [{
            "name": c.name, "value": c.value, "domain": c.domain, "path": c.path,
            "expires": c.expires, "secure": bool(c.secure),
            "host_only": not c.domain_specified,
        } for c in self._snapshot()]
        tmp = "%s.%d.tmp" % (path, os.getpid())
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(records, f, ensure_ascii=False, indent=1)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)

    def load_cookies(self, path: str) -> bool:
        """Replace the jar by the cookies saved in ``path``; ``False`` if none could be read."""
        try:
            with open(path, encoding="utf-8") as f:
                records = json.load(f)
        except FileNotFoundError:
            return False
        except (OSError, ValueError) as e:
            log.warning("ignoring unreadable cookie file %s: %s", path, e)
            return False
        if not isinstance(records, list):
            log.warning("ignoring cookie file %s: not a list", path)
            return False
        now = time.time()
        self.cookies.clear()
        for rec in records:
            try:
                expires = rec.get("expires")
                if expires is not None and expires <= now:
                    continue
                cookie = create_cookie(rec["name"], rec["value"], domain=rec.get("domain", ""),
                                       path=rec.get("path", "/"), expires=expires,
                                       secure=bool(rec.get("secure")))
                if rec.get("host_only"):
                    cookie.domain_specified = False
                    cookie.domain_initial_dot = False
                self.cookies.set_cookie(cookie)
            except (KeyError, TypeError, AttributeError):
                log.warning("skipping a malformed cookie record in %s", path)
        return True


def _is_aborted(session: requests.Session) -> bool:
    return any(getattr(a, "aborted", False) for a in session.adapters.values())
