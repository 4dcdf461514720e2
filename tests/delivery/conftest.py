"""Web-area fixtures: make the shared helpers in tests/webkit importable."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir))
