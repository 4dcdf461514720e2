"""Contrib tests: the shared helpers in tests/webkit and the example scripts importable."""

import os
import sys

_here = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(_here, os.pardir))
sys.path.insert(0, os.path.join(_here, os.pardir, os.pardir, "contrib", "examples"))
