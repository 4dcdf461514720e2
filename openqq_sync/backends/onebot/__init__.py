"""OneBot v11: a live QQ account through a OneBot server (NapCatQQ, LuckyLilliaBot).

``connection`` (one forward WebSocket), ``segments`` and ``mapping`` (pure translations to
the Openqq model), ``actions`` (what is asked of the server), ``backend`` (the
:class:`~openqq_sync.backends.Backend`). Choose it with ``Config(backend="onebot",
onebot_url="ws://127.0.0.1:3001", onebot_token=...)`` or ``openqq run --backend onebot``.
"""

from __future__ import annotations

from .backend import OneBotBackend

__all__ = ["OneBotBackend"]
