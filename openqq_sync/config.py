"""Client and API options. Defaults mirror the original client's and its Openqq plugin's.

One frozen dataclass, checked when built: the ``openqq`` command fills it from flags,
``OPENQQ_<OPTION>`` environment variables and a config file (see ``cli.py``);
embedders construct it directly and derive variants with ``dataclasses.replace`` (or
``config.replace(...)``).
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from dataclasses import dataclass, field
from typing import Any, List, Optional
from urllib.parse import urlsplit

DEFAULT_POST_EVENT_LIST = [
    "login", "stop", "state_change", "input_qrcode", "new_group", "new_friend",
    "new_group_member", "lose_group", "lose_friend", "lose_group_member",
]


MEMBER_LOADS = ("login", "background")


def default_tmpdir() -> str:
    """This user's own directory: ``$XDG_RUNTIME_DIR/openqq`` when that runtime directory
    exists and is ours, else ``<system temp dir>/openqq-<uid>``."""
    uid = os.geteuid() if hasattr(os, "geteuid") else -1
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime):
        try:
            st = os.stat(runtime)
        except OSError:
            st = None
        if st is not None and st.st_uid == uid and not st.st_mode & 0o077:
            return os.path.join(runtime, "openqq")
    return os.path.join(tempfile.gettempdir(), f"openqq-{uid}" if uid >= 0 else "openqq")


@dataclass(frozen=True)
class Config:
    # --- account and files -------------------------------------------------------------
    account: str = "default"
    # --- which protocol: "smartqq" (built in); others register in openqq_sync.backends --
    backend: str = "smartqq"
    tmpdir: str = field(default_factory=default_tmpdir)
    keep_cookie: bool = True
    # --- where SmartQQ lives: None = the real hosts; "http://127.0.0.1:9000" = a sandbox --
    server: Optional[str] = None
    # --- where OneBot v11 lives (backend "onebot"): a forward WebSocket and its token -----
    onebot_url: Optional[str] = None
    onebot_token: Optional[str] = None
    onebot_action_timeout: float = 30.0        # longest wait for one action's answer
    mode: str = "online"
    clientid: int = 53999199
    # --- login -------------------------------------------------------------------------
    qrcode_count_max: int = 10
    qrcode_poll_interval: float = 3.0          # seconds between ptqrlogin checks
    show_qrcode: bool = True                   # print the QR code in the terminal
    # --- HTTP --------------------------------------------------------------------------
    ua_connect_timeout: float = 10.0
    ua_request_timeout: float = 120.0
    ua_retry_times: int = 5
    model_update_timeout: float = 15.0
    # --- receiving ---------------------------------------------------------------------
    poll_failure_count_max: int = 3
    poll_retry_max_delay: float = 30.0         # cap of the poll backoff on network errors
    ignore_poll_retcode: List[int] = field(default_factory=lambda: [102, 109, 110, 1202, 100012])
    allow_message_sync: bool = False
    ignore_unknown_id: bool = True
    # --- sending -----------------------------------------------------------------------
    send_interval: float = 3.0
    msg_ttl: int = 3
    send_timeout: float = 60.0                 # longest an API send waits for its result
    send_queue_size: int = 1000                # sends waiting at once; more are refused
    max_message_length: int = 16384            # characters of one sent message; longer is refused
    ignore_send_retcode: List[int] = field(default_factory=lambda: [1202, 100100])
    send_failure_count_max: int = 5
    default_send_real_comp_sign: bool = False
    # --- contacts ----------------------------------------------------------------------
    update_interval: float = 600.0
    is_update_user: bool = False
    is_update_friend: bool = True
    is_update_group: bool = True
    is_update_group_member: bool = True
    is_update_discuss: bool = True
    group_member_card_cut_length: int = 21
    group_member_use_friend_markname: bool = True
    member_fetch_workers: int = 8              # parallel get_group_info_ext2 calls
    # "login": every member list is loaded before "running" (members complete from the
    # first API call); "background": "running" (and polling) first, members right after
    # on a loader thread, a group on demand when a message or a request needs it first.
    member_load: str = "login"
    # --- Openqq API --------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 5000
    threads: int = 132                         # waitress pool: max_event_waiters + 32 for other calls
    idle_timeout: float = 30.0                 # seconds an idle or incomplete connection is kept
    connection_limit: int = 1000               # open connections; past it new ones wait
    max_event_waiters: int = 100               # held check_event calls; past it they answer at once
    post_api: Optional[str] = None
    post_event: bool = True
    post_event_list: List[str] = field(default_factory=lambda: list(DEFAULT_POST_EVENT_LIST))
    post_stdout: bool = False
    poll_api: Optional[str] = None
    poll_interval: float = 5.0
    check_event_list_max_size: int = 20
    check_event_timeout: float = 30.0
    check_event_retention: int = 1000          # items kept for check_event?since=SEQ
    post_api_timeout: float = 5.0              # connect, send and read the whole answer of one POST
    post_api_queue_size: int = 10000           # reports held while post_api is down
    post_api_retry_window: float = 600.0       # seconds a report is retried before it is dropped
    post_api_workers: int = 4                  # connections, hence late answers awaited at once
    max_answer_size: int = 1048576             # bytes of a post_api or poll_api answer read at most
    post_secret: Optional[str] = None          # HMAC key for X-Signature / X-Openqq-Signature-256
    token: Optional[str] = None                # API access token (Bearer or access_token)
    allow_no_token: bool = False               # allow a non-loopback host without a token
    # Browser rules (browser_rules.py): Hosts answered besides loopback ones; origins whose
    # pages may call the API and read its answers ("*": every page, as the original allowed).
    allowed_hosts: List[str] = field(default_factory=list)
    cors_origins: List[str] = field(default_factory=list)
    show_message: bool = True                  # ShowMsg-like console line per message
    # --- logging -----------------------------------------------------------------------
    log_level: str = "info"
    log_path: Optional[str] = None

    def __post_init__(self) -> None:
        # Numbers arrive as text or ints from files and flags: each field holds its own type.
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.type == "float" and isinstance(value, (int, str)) and not isinstance(value, bool):
                object.__setattr__(self, f.name, float(value))
            elif f.type == "int" and isinstance(value, str):
                object.__setattr__(self, f.name, int(value))
        if self.member_load not in MEMBER_LOADS:
            raise ValueError(f"member_load must be 'login' or 'background', not {self.member_load!r}")
        if not self.account or any(c in self.account for c in "/\\\0"):
            raise ValueError(f"account must be a non-empty name without path separators, not {self.account!r}")
        if self.server is not None:
            parts = urlsplit(self.server)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"server must look like http://host:port, not {self.server!r}")
        if self.onebot_url is not None:
            parts = urlsplit(self.onebot_url)
            if parts.scheme not in ("ws", "wss") or not parts.netloc:
                raise ValueError(f"onebot_url must look like ws://host:port, not {self.onebot_url!r}")
            if "access_token" in parts.query:
                # The URL is shown by get_client_info and in logs: the token has its own option.
                raise ValueError("put the OneBot token in onebot_token, not in onebot_url")
            if parts.path.rstrip("/").rsplit("/", 1)[-1] in ("api", "event"):
                # OneBot's /api carries no events and /event takes no actions: both are needed.
                raise ValueError(f"onebot_url must be the server's universal endpoint (ws://host:port/), "
                                 f"not {self.onebot_url!r}")
        if self.backend == "onebot" and not self.onebot_url:
            raise ValueError("the onebot backend needs onebot_url (ws://host:port of the OneBot server)")
        if self.onebot_token is not None and not all(0x21 <= ord(c) <= 0x7e for c in self.onebot_token):
            raise ValueError("onebot_token must be printable ASCII without spaces")
        from . import backends  # here, not at the top: backends imports this module's users
        if self.backend not in backends.names():
            raise ValueError(f"unknown backend {self.backend!r} (known: {', '.join(backends.names())})")
        for name in ("member_fetch_workers", "msg_ttl", "qrcode_count_max", "threads", "send_queue_size",
                     "max_message_length", "connection_limit"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, not {getattr(self, name)!r}")
        for name in ("send_interval", "update_interval", "qrcode_poll_interval", "poll_retry_max_delay",
                     "ua_connect_timeout", "ua_request_timeout", "send_timeout", "idle_timeout",
                     "onebot_action_timeout"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, not {getattr(self, name)!r}")

    # File names are the original's, so tools that read them keep working.
    @property
    def cookie_path(self) -> str:
        return os.path.join(self.tmpdir, f"mojo_webqq_cookie_{self.account}.dat")

    @property
    def pid_path(self) -> str:
        return os.path.join(self.tmpdir, f"mojo_webqq_pid_{self.account}.pid")

    @property
    def qrcode_path(self) -> str:
        return os.path.join(self.tmpdir, f"mojo_webqq_qrcode_{self.account}.png")

    @property
    def state_path(self) -> str:
        return os.path.join(self.tmpdir, f"mojo_webqq_state_{self.account}.json")

    def replace(self, **changes: Any) -> "Config":
        return dataclasses.replace(self, **changes)

    @classmethod
    def option_names(cls) -> List[str]:
        return [f.name for f in dataclasses.fields(cls)]
