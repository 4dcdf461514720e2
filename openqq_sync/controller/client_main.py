"""One controller client's process: ``openqq run`` without the rest of the command line tool.

``python -m openqq_sync.controller.client_main --account NAME`` takes the options of
``openqq run`` (the controller passes them as ``OPENQQ_*`` variables) and serves the same
way, through ``runner.run_command``. It does not import the sandbox and the controller, as
``openqq``'s parser does: 3 MB less in every client.
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from .. import cli as options
from .. import runner


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="openqq run", description=__doc__)
    options.add_flags(parser)
    return int(runner.run_command(parser.parse_args(argv)) or 0)


if __name__ == "__main__":
    sys.exit(main())
