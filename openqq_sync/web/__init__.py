"""The Openqq HTTP API: a Flask blueprint over one Client, an app factory, a waitress server."""

from .app import create_app
from .blueprint import openqq_blueprint
from .errors import ApiError
from .server import ApiServer

__all__ = ["ApiError", "ApiServer", "create_app", "openqq_blueprint"]
