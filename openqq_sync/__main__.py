"""``python -m openqq_sync`` is the ``openqq`` command."""

import sys

from .cli import main

sys.exit(main())
