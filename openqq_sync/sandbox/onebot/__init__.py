"""The sandbox's OneBot v11 face: the world's account served as NapCat serves it.

``OneBotFace`` (``face.py``) turns world changes into events and runs the actions
(``actions.py``) over the four transports (``transports.py``); ``message.py`` converts
messages (segments, CQ codes, SmartQQ content) and ``faces.py`` maps faces to QQ NT ids.
``control.py`` adds the fault verbs under ``/sandbox/onebot/``. See docs/onebot-sandbox.md.
"""

from __future__ import annotations

from .face import OneBotFace

__all__ = ["OneBotFace"]
