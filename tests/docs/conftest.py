"""Docs tests reuse the web area's live stack (tests/webkit)."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir))
