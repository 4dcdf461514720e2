"""openqq-sync: a SmartQQ client exposing the Openqq HTTP API, and a SmartQQ sandbox."""

__version__ = "0.1.0"

__all__ = ["__version__"]
