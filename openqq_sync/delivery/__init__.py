"""How messages and events leave the client: check_event buffer, post_api, stdout, heartbeat."""

from .event_buffer import EventBuffer
from .heartbeat import Heartbeat
from .hub import Delivery
from .post_api import PostApiReporter, sign_headers

__all__ = ["Delivery", "EventBuffer", "Heartbeat", "PostApiReporter", "sign_headers"]
