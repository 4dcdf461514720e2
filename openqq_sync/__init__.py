"""openqq-sync: a QQ client exposing the Openqq HTTP API, and a SmartQQ sandbox.

The public API, importable from here: :class:`Client` (one account), :class:`Config`,
:class:`ClientState`, :class:`SendHandle`, the HTTP face (:func:`create_app`,
:data:`openqq_blueprint`, :class:`ApiServer`), :class:`Delivery` (events to check_event,
post_api and stdout), :mod:`errors`, :mod:`signals`, and :class:`SandboxServer` (imported on
first use: it is a test and demo tool).
"""

__version__ = "0.1.0"

import logging as _logging
from typing import Any

from . import errors, signals
from .client import Client, ClientState, SendHandle
from .config import Config
from .delivery import Delivery
from .web import ApiServer, create_app, openqq_blueprint

_logging.getLogger(__name__).addHandler(_logging.NullHandler())

__all__ = [
    "__version__", "ApiServer", "Client", "ClientState", "Config", "Delivery", "SandboxServer",
    "SendHandle", "create_app", "errors", "openqq_blueprint", "signals",
]


def __getattr__(name: str) -> Any:
    if name == "SandboxServer":
        from .sandbox import SandboxServer
        return SandboxServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
