"""The ``openqq`` command: ``run`` (client + API), ``demo`` (sandbox + client + API), ``sandbox``,
``controller`` (many accounts)."""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional


def build_parser() -> argparse.ArgumentParser:
    from . import runner
    from .controller import command as controller_command
    from .sandbox import command as sandbox_command

    parser = argparse.ArgumentParser(prog="openqq", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    runner.add_parsers(sub)
    sandbox_command.add_parser(sub)
    controller_command.add_parser(sub)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
