"""Backends: the protocols that drive an account (SmartQQ, OneBot v11) under the client core."""
