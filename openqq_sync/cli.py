"""The ``openqq`` command: ``run`` (client + API), ``demo`` (sandbox + client + API), ``sandbox``,
``controller`` (many accounts).

Its options fill a :class:`~openqq_sync.config.Config` from flags, ``OPENQQ_*`` variables and a file.

Precedence, lowest first: the defaults, the config file (``--config PATH`` or
``OPENQQ_CONFIG``), the environment (``OPENQQ_<OPTION>``, e.g. ``OPENQQ_POST_API``), the
command-line flags (``--post-api``). Every Config field is an option under its own name.

The config file is JSON (``*.json``: one flat object) or INI (anything else: options in an
``[openqq]`` section), keys spelt as the option names (``post_api`` or ``post-api``).
Text values are converted by the field's type: booleans accept 1/0, true/false, yes/no,
on/off; lists are comma-separated.

Secrets (``token``, ``post_secret``) also come from a file: ``--token-file PATH`` or
``OPENQQ_TOKEN_FILE`` (the file's text, one trailing newline dropped). A flag's value is seen by
every local user (``ps``); the environment, the config file or a secret file are not.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from typing import Any, Dict, Iterable, List, Mapping, Optional, Set, Tuple

from .config import Config

ENV_PREFIX = "OPENQQ_"
#: Options that may also be read from a file (``--NAME-file``, ``OPENQQ_NAME_FILE``).
SECRETS = ("token", "post_secret")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}

#: One-line help for the options users set most; the others say what they default to.
HELP = {
    "host": "address the API listens on (default 127.0.0.1; others need --token or --allow-no-token)",
    "port": "API port (default 5000)",
    "account": "local name of the account; names the files in --tmpdir (default: default)",
    "tmpdir": "where cookie, pid, QR and state files live (default: a directory of this user alone, "
              "$XDG_RUNTIME_DIR/openqq or <system temp dir>/openqq-<uid>, created 0700)",
    "backend": "the protocol behind the API: smartqq (default) or onebot (a OneBot v11 server such as NapCat)",
    "server": "SmartQQ server to use instead of the real hosts, e.g. a sandbox URL",
    "onebot_url": "forward WebSocket of the OneBot v11 server (backend onebot), e.g. ws://127.0.0.1:3001",
    "onebot_token": "the OneBot server's access token (sent as Authorization: Bearer)",
    "onebot_action_timeout": "seconds to wait for one OneBot action's answer (default 30)",
    "post_api": "URL that receives every message and event as a JSON POST",
    "post_event": "report events (not only messages) to post_api/check_event (default on)",
    "post_event_list": "comma-separated events to report (default: the original's list)",
    "post_stdout": "also print every report as one JSON line on stdout",
    "poll_api": "heartbeat URL polled while running; a 302 into /openqq/ is followed",
    "poll_interval": "seconds between heartbeats (default 5)",
    "check_event_list_max_size": "check_event buffer size (default 20)",
    "check_event_timeout": "seconds an empty check_event waits (default 30)",
    "check_event_retention": "items kept for check_event?since=SEQ (default 1000)",
    "send_interval": "seconds between two sends (default 3)",
    "send_timeout": "longest a sync API send waits for its result (default 60)",
    "update_interval": "seconds between contact refreshes (default 600)",
    "idle_timeout": "seconds an idle or incomplete HTTP connection is kept open (default 30)",
    "connection_limit": "open HTTP connections at most; past it new ones wait (default 1000)",
    "send_queue_size": "sends waiting at once; more answer code 429 'send queue full' (default 1000)",
    "max_message_length": "characters of one sent message; longer answers 400 'content too long' (default 16384)",
    "threads": "HTTP worker threads; each waiting check_event holds one (default 132)",
    "max_event_waiters": "check_event calls held at once; more answer at once (default 100)",
    "token": "API token: every call needs 'Authorization: Bearer TOKEN' or access_token=TOKEN; "
             "other users see flags in ps, so prefer OPENQQ_TOKEN, the config file or --token-file",
    "allow_no_token": "allow listening on a non-loopback address without --token",
    "allowed_hosts": "comma-separated Host names the API answers besides loopback ones (needed "
                     "without --token behind a proxy or on another address; '*' for any)",
    "cors_origins": "comma-separated origins (https://app.example) whose web pages may call the API "
                    "and read its answers; '*' for every page, as the original (see docs/security.md)",
    "post_secret": "sign post_api requests (X-Signature, X-Openqq-Signature-256) with this key; "
                   "prefer OPENQQ_POST_SECRET, the config file or --post-secret-file (flags show in ps)",
    "post_api_retry_window": "seconds a failed post_api delivery is retried (default 600)",
    "post_api_workers": "post_api connections, hence late answers awaited at once (default 4)",
    "max_answer_size": "bytes of a post_api or poll_api answer read at most (default 1048576)",
    "post_api_queue_size": "reports held while post_api is unreachable (default 10000)",
    "log_level": "debug, info, warning or error (default info)",
    "log_path": "also write the log to this file",
    "show_qrcode": "print the login QR code in the terminal (default on)",
    "show_message": "print one console line per message, like ShowMsg (default on)",
}


def _fields() -> Dict[str, dataclasses.Field[Any]]:
    return {f.name: f for f in dataclasses.fields(Config)}


def asbool(text: Any) -> bool:
    if isinstance(text, bool):
        return text
    value = str(text).strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"not a boolean: {text!r}")


def convert(name: str, value: Any) -> Any:
    """``value`` (text from a flag, variable or file, or a JSON value) as option ``name``'s type.

    :raises ValueError: unknown option or a value that does not convert (the message names it).
    """
    field = _fields().get(name)
    if field is None:
        raise ValueError(f"unknown option {name!r}")
    kind = str(field.type).replace(" ", "")
    try:
        if kind.startswith("Optional["):
            if value is None or (isinstance(value, str) and value.strip() == ""):
                return None
            kind = kind[len("Optional["):-1]
        if kind == "bool":
            return asbool(value)
        if kind in ("int", "float"):
            if isinstance(value, bool):
                raise ValueError("a boolean is not a number")
            return int(value) if kind == "int" else float(value)
        if kind.startswith("List["):
            items = value if isinstance(value, list) else [p.strip() for p in str(value).split(",") if p.strip()]
            return [int(x) for x in items] if kind == "List[int]" else [str(x) for x in items]
        return str(value)
    except (TypeError, ValueError) as e:
        raise ValueError(f"option {name}: {e}") from None


def _key(raw: str) -> str:
    return raw.strip().lower().replace("-", "_")


def read_file(path: str) -> Dict[str, Any]:
    """The options in a JSON or INI config file, converted. :raises ValueError: bad file or key."""
    items: Iterable[Tuple[str, Any]]
    if path.lower().endswith(".json"):
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        if not isinstance(data, dict):
            raise ValueError(f"{path}: the JSON config must be an object")
        items = data.items()
    else:
        import configparser  # here, not with the module: only INI config files need it
        parser = configparser.ConfigParser(interpolation=None)
        with open(path, encoding="utf-8") as fh:
            parser.read_file(fh)
        if not parser.has_section("openqq"):
            raise ValueError(f"{path}: no [openqq] section")
        items = parser.items("openqq")
    return {_key(k): convert(_key(k), v) for k, v in items}


def read_env(env: Mapping[str, str]) -> Dict[str, Any]:
    names = _fields()
    out = {}
    for var, value in env.items():
        if var.startswith(ENV_PREFIX) and var != ENV_PREFIX + "CONFIG":
            name = var[len(ENV_PREFIX):].lower()
            if name in names:
                out[name] = convert(name, value)
    return out


def add_flags(parser: argparse.ArgumentParser) -> None:
    """A ``--flag`` per Config field (booleans also get ``--no-flag``), plus ``--config``."""
    parser.add_argument("--config", metavar="PATH", help="config file (JSON, or INI with an [openqq] section)")
    defaults = Config()
    group = parser.add_argument_group("options (also OPENQQ_<OPTION> variables and config-file keys)")
    for name, field in _fields().items():
        flag = "--" + name.replace("_", "-")
        default = getattr(defaults, name)
        text = HELP.get(name, f"default {default!r}")
        if str(field.type) == "bool":
            group.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction, default=None, help=text)
        else:
            group.add_argument(flag, dest=name, default=None, metavar=name.upper(), help=text)
        if name in SECRETS:
            group.add_argument(flag + "-file", dest=name + "_file", default=None, metavar="PATH",
                               help=f"read --{name.replace('_', '-')} from this file "
                                    f"(or {ENV_PREFIX}{name.upper()}_FILE)")


def load(args: argparse.Namespace, env: Optional[Mapping[str, str]] = None,
         base: Optional[Dict[str, Any]] = None) -> Tuple[Config, Set[str]]:
    """Build the Config for ``args``; returns it with the names set explicitly (file, env, flag).

    :param base: defaults that differ from Config's (``openqq demo`` uses its own account).
    :raises ValueError: an unknown key or a value that does not convert.
    """
    env = os.environ if env is None else env
    values: Dict[str, Any] = dict(base or {})
    explicit: Set[str] = set()
    path = getattr(args, "config", None) or env.get(ENV_PREFIX + "CONFIG")
    if path:
        found = read_file(path)
        values.update(found)
        explicit.update(found)
    found = read_env(env)
    values.update(found)
    explicit.update(found)
    for name in _fields():
        raw = getattr(args, name, None)
        if raw is not None:
            values[name] = convert(name, raw)
            explicit.add(name)
    for name in SECRETS:
        secret_path = getattr(args, name + "_file", None) or env.get(f"{ENV_PREFIX}{name.upper()}_FILE")
        if secret_path and getattr(args, name, None) is None:
            values[name] = read_secret(secret_path, name)
            explicit.add(name)
    return Config(**values), explicit


def read_secret(path: str, name: str) -> str:
    """The secret in file ``path``: its UTF-8 text without one trailing newline.

    :raises ValueError: unreadable or empty (the message names the option).
    """
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"option {name}_file: cannot read {path}: {e}") from None
    text = text[:-1] if text.endswith("\n") else text
    text = text[:-1] if text.endswith("\r") else text
    if not text:
        raise ValueError(f"option {name}_file: {path} is empty")
    return text


def build_parser() -> argparse.ArgumentParser:
    from . import runner
    from .controller import command as controller_command
    from .sandbox import command as sandbox_command

    parser = argparse.ArgumentParser(prog="openqq", description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    runner.add_parsers(sub)
    sandbox_command.add_parser(sub)
    controller_command.add_parser(sub)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
