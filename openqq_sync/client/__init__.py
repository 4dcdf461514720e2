"""One account's engine: the Client facade, its state machine and its worker threads.

Knows no protocol: the backend (``openqq_sync.backends``) does the talking.
"""

from .client import Client
from .sender import SendHandle
from .state import ClientState

__all__ = ["Client", "ClientState", "SendHandle"]
