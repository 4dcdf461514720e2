"""A SmartQQ-compatible sandbox server: a seeded world that SmartQQ clients log into over HTTP.

Public names: ``SandboxServer`` (world + waitress thread), ``SandboxWorld`` (the stateful
fake and its test verbs), ``create_app`` (the Flask app over a world), ``generate``.
Imports nothing from ``openqq_sync.backends`` (house style S1).
"""

from __future__ import annotations

from .app import create_app
from .generator import generate
from .server import SandboxServer
from .world import SandboxWorld

__all__ = ["SandboxServer", "SandboxWorld", "create_app", "generate"]
