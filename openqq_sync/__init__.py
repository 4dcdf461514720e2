"""openqq-sync: a SmartQQ client exposing the Openqq HTTP API, and a SmartQQ sandbox."""

__version__ = "0.1.0"

import logging as _logging

from .client import Client, ClientState, SendHandle
from .config import Config
from .web import ApiServer, create_app, openqq_blueprint

_logging.getLogger(__name__).addHandler(_logging.NullHandler())

__all__ = [
    "__version__", "ApiServer", "Client", "ClientState", "Config", "SendHandle",
    "create_app", "openqq_blueprint",
]
